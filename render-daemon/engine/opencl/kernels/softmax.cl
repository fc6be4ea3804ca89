/* softmax.cl - row softmax in place, with an optional causal mask for
 * attention scores. One work group per row. */

#include "reduce.clh"

/* x [rows, D]. With causal set, row r is query q = q0 + r % rows_per_head
 * and columns past q are masked out (CLIP's text encoder). */
__kernel void k_softmax(__global float *x, const uint D, const int causal,
	const uint rows_per_head, const uint q0, __local float *s)
{
	uint r = get_group_id(0);
	__global float *row = x + (size_t)r * D;
	uint lid = get_local_id(0), ls = get_local_size(0);
	uint limit = D;

	if (causal) {
		uint q = q0 + r % rows_per_head;
		limit = min(D, q + 1);
	}
	float m = -INFINITY;
	for (uint i = lid; i < limit; i += ls)
		m = fmax(m, row[i]);
	m = wg_max(m, s);
	float acc = 0.0f;
	for (uint i = lid; i < limit; i += ls) {
		float e = exp(row[i] - m);
		row[i] = e;
		acc += e;
	}
	float inv = 1.0f / wg_sum(acc, s);
	for (uint i = lid; i < D; i += ls)
		row[i] = i < limit ? row[i] * inv : 0.0f;
}

/* The same with one work item per row: on CPUs (PoCL) a work group's
 * barriers cost more than the row itself, and rows are many. */
__kernel void k_softmax_row(__global float *x, const uint D, const int causal,
	const uint rows_per_head, const uint q0, const uint rows)
{
	uint r = get_global_id(0);
	if (r >= rows)
		return;
	__global float *row = x + (size_t)r * D;
	uint limit = D;

	if (causal)
		limit = min(D, q0 + r % rows_per_head + 1);
	float m = -INFINITY;
	for (uint i = 0; i < limit; i++)
		m = fmax(m, row[i]);
	float acc = 0.0f;
	for (uint i = 0; i < limit; i++) {
		float e = exp(row[i] - m);
		row[i] = e;
		acc += e;
	}
	float inv = 1.0f / acc;
	for (uint i = 0; i < limit; i++)
		row[i] *= inv;
	for (uint i = limit; i < D; i++)
		row[i] = 0.0f;
}
