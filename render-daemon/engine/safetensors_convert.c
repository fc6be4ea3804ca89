/* safetensors_convert.c - a tensor's F32, F16 or BF16 values into F32 or
 * F16, refusing what would not survive the conversion. */
#include "half.h"
#include "safetensors_int.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static int
check_convert(const struct st_tensor *t, size_t n, const char *to,
    char *err, size_t errlen)
{
	char q[ST_QNAME_MAX];

	if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
		st_err(err, errlen, "%s: tensor '%s': dtype %s cannot be "
		    "loaded as floating point (F32, F16 or BF16 needed)",
		    t->file->name, st_qname(q, sizeof(q), t->name),
		    st_dtypes[t->dtype].name);
		return -1;
	}
	if (n != t->nelems) {
		st_err(err, errlen, "%s: tensor '%s': has %zu values but the "
		    "%s destination holds %zu", t->file->name,
		    st_qname(q, sizeof(q), t->name), t->nelems, to, n);
		return -1;
	}
	return 0;
}

int
st_to_f32(const struct st_tensor *t, float *dst, size_t n, char *err,
    size_t errlen)
{
	const unsigned char *p = t->data;
	uint16_t h;
	size_t i;

	if (check_convert(t, n, "F32", err, errlen) == -1)
		return -1;
	switch (t->dtype) {
	case ST_F32:
		if (n > 0)
			memcpy(dst, p, n * sizeof(float));
		break;
	case ST_F16:
		for (i = 0; i < n; i++) {
			memcpy(&h, p + 2 * i, 2);
			dst[i] = half_to_float(h);
		}
		break;
	default:		/* ST_BF16 */
		for (i = 0; i < n; i++) {
			memcpy(&h, p + 2 * i, 2);
			dst[i] = bf16_to_float(h);
		}
		break;
	}
	return 0;
}

int
st_to_f16(const struct st_tensor *t, uint16_t *dst, size_t n, char *err,
    size_t errlen)
{
	const unsigned char *p = t->data;
	char q[ST_QNAME_MAX];
	uint16_t h;
	float v;
	size_t i;

	if (check_convert(t, n, "F16", err, errlen) == -1)
		return -1;
	if (t->dtype == ST_F16) {
		if (n > 0)
			memcpy(dst, p, n * sizeof(uint16_t));
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (t->dtype == ST_F32) {
			memcpy(&v, p + 4 * i, 4);
		} else {
			memcpy(&h, p + 2 * i, 2);
			v = bf16_to_float(h);
		}
		dst[i] = float_to_half(v);
		/* A finite weight turned infinite would poison every sum
		 * it enters: refuse rather than round silently. */
		if ((dst[i] & 0x7fff) == 0x7c00 && isfinite(v)) {
			st_err(err, errlen, "%s: tensor '%s': value %g at index "
			    "%zu is too large for float16 (the largest is "
			    "65504)", t->file->name,
			    st_qname(q, sizeof(q), t->name), (double)v, i);
			return -1;
		}
	}
	return 0;
}
