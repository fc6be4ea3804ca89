/* bpe.c - byte-level BPE for the CLIP tokenizer: open-addressing tables
 * for the vocabulary and the merge ranks, a word cache under a lock, and
 * the merge loop over a heap of pair ranks. */
#include "bpe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The word cache is bounded: past these it starts again empty. */
#define CACHE_MAX_WORDS 16384
#define CACHE_MAX_WORD_BYTES 64

static uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static uint64_t
hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* Smallest power of two >= 2n (load factor at most one half). */
static size_t
table_size(size_t n)
{
	size_t s = 16;

	while (s < 2 * n)
		s *= 2;
	return s;
}

void
vocab_free(struct vocab *v)
{
	buf_free(&v->arena);
	free(v->off);
	free(v->len);
	free(v->slot);
	memset(v, 0, sizeof(*v));
}

int
vocab_init(struct vocab *v, size_t n, size_t arena_hint)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	v->cap = n;
	v->off = calloc(n ? n : 1, sizeof(*v->off));
	v->len = calloc(n ? n : 1, sizeof(*v->len));
	v->mask = table_size(n) - 1;
	v->slot = malloc((v->mask + 1) * sizeof(*v->slot));
	if (v->off == NULL || v->len == NULL || v->slot == NULL ||
	    buf_reserve(&v->arena, arena_hint) != 0)
		return -1;
	for (i = 0; i <= v->mask; i++)
		v->slot[i].id = -1;
	return 0;
}

int32_t
vocab_get(const struct vocab *v, const char *s, size_t n)
{
	uint64_t h = hash_bytes(s, n);
	size_t i = h & v->mask;
	int32_t id;

	while ((id = v->slot[i].id) >= 0) {
		if (v->slot[i].tag == (uint32_t)(h >> 32) &&
		    v->len[id] == n &&
		    memcmp(v->arena.data + v->off[id], s, n) == 0)
			return id;
		i = (i + 1) & v->mask;
	}
	return -1;
}

int
vocab_set(struct vocab *v, int32_t id, const char *s, size_t n)
{
	uint64_t h = hash_bytes(s, n);
	size_t i;
	int32_t cur;

	if ((size_t)id >= v->cap || n > UINT32_MAX ||
	    v->arena.len > UINT32_MAX - n)
		return -1;
	v->off[id] = (uint32_t)v->arena.len;
	v->len[id] = (uint32_t)n;
	if (buf_append(&v->arena, s, n) != 0)
		return -1;
	if ((size_t)id >= v->n)
		v->n = (size_t)id + 1;
	i = h & v->mask;
	while ((cur = v->slot[i].id) >= 0) {
		if (v->slot[i].tag == (uint32_t)(h >> 32) &&
		    v->len[cur] == n &&
		    memcmp(v->arena.data + v->off[cur], s, n) == 0)
			break;
		i = (i + 1) & v->mask;
	}
	v->slot[i].id = id;
	v->slot[i].tag = (uint32_t)(h >> 32);
	return 0;
}

void
pairmap_free(struct pairmap *p)
{
	free(p->key);
	free(p->rank);
	free(p->merged);
	memset(p, 0, sizeof(*p));
}

int
pairmap_init(struct pairmap *p, size_t n)
{
	size_t i;

	p->mask = table_size(n) - 1;
	p->key = malloc((p->mask + 1) * sizeof(*p->key));
	p->rank = malloc((p->mask + 1) * sizeof(*p->rank));
	p->merged = malloc((p->mask + 1) * sizeof(*p->merged));
	if (p->key == NULL || p->rank == NULL || p->merged == NULL)
		return -1;
	for (i = 0; i <= p->mask; i++)
		p->key[i] = UINT64_MAX;
	return 0;
}

static uint64_t
pair_key(int32_t a, int32_t b)
{
	return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

void
pairmap_set(struct pairmap *p, int32_t a, int32_t b, int32_t rank,
    int32_t merged)
{
	uint64_t k = pair_key(a, b);
	size_t i = hash_u64(k) & p->mask;

	while (p->key[i] != UINT64_MAX && p->key[i] != k)
		i = (i + 1) & p->mask;
	p->key[i] = k;
	p->rank[i] = rank;
	p->merged[i] = merged;
}

/* Returns the rank of the pair, or -1 when it is not a merge. */
static int32_t
pairmap_get(const struct pairmap *p, int32_t a, int32_t b, int32_t *merged)
{
	uint64_t k = pair_key(a, b);
	size_t i = hash_u64(k) & p->mask;

	while (p->key[i] != UINT64_MAX) {
		if (p->key[i] == k) {
			*merged = p->merged[i];
			return p->rank[i];
		}
		i = (i + 1) & p->mask;
	}
	return -1;
}

struct cache_slot {
	uint64_t hash;
	uint32_t key_off, key_len, ids_off, ids_n;
	int used;
};

/* Word -> ids, shared by every caller of one tokenizer under a lock. */
struct word_cache {
	pthread_mutex_t lock;
	struct cache_slot *slot;
	size_t mask, count;
	struct buf keys;
	struct i32vec ids;
};

void
word_cache_free(struct word_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->slot);
	buf_free(&c->keys);
	free(c->ids.v);
	free(c);
}

struct word_cache *
word_cache_new(void)
{
	struct word_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->mask = table_size(CACHE_MAX_WORDS) - 1;
	c->slot = calloc(c->mask + 1, sizeof(*c->slot));
	if (c->slot == NULL) {
		word_cache_free(c);
		return NULL;
	}
	return c;
}

/* Appends the cached ids of word to out. Returns 1 when found, 0 when
 * not, -1 when memory runs out. */
static int
cache_get(struct word_cache *c, const char *w, size_t n, uint64_t h,
    struct i32vec *out)
{
	size_t i, k;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	for (i = h & c->mask; c->slot[i].used; i = (i + 1) & c->mask) {
		const struct cache_slot *s = &c->slot[i];

		if (s->hash != h || s->key_len != n ||
		    memcmp(c->keys.data + s->key_off, w, n) != 0)
			continue;
		rc = 1;
		for (k = 0; k < s->ids_n; k++)
			if (i32_push(out, c->ids.v[s->ids_off + k]) != 0) {
				rc = -1;
				break;
			}
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Remembers word -> ids[0..n_ids). A full cache starts again empty; a
 * failure to grow just leaves the word out (the cache is an
 * optimisation, never needed for a correct answer). */
static void
cache_put(struct word_cache *c, const char *w, size_t n, uint64_t h,
    const int32_t *ids, size_t n_ids)
{
	size_t i, k, keys_len, ids_len;

	if (n > CACHE_MAX_WORD_BYTES)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->count >= CACHE_MAX_WORDS) {
		memset(c->slot, 0, (c->mask + 1) * sizeof(*c->slot));
		c->count = 0;
		buf_reset(&c->keys);
		c->ids.n = 0;
	}
	for (i = h & c->mask; c->slot[i].used; i = (i + 1) & c->mask)
		if (c->slot[i].hash == h && c->slot[i].key_len == n &&
		    memcmp(c->keys.data + c->slot[i].key_off, w, n) == 0)
			goto out;	/* another thread was first */
	keys_len = c->keys.len;
	ids_len = c->ids.n;
	if (buf_append(&c->keys, w, n) != 0)
		goto out;
	for (k = 0; k < n_ids; k++)
		if (i32_push(&c->ids, ids[k]) != 0) {
			c->keys.len = keys_len;
			c->ids.n = ids_len;
			goto out;
		}
	c->slot[i].hash = h;
	c->slot[i].key_off = (uint32_t)keys_len;
	c->slot[i].key_len = (uint32_t)n;
	c->slot[i].ids_off = (uint32_t)ids_len;
	c->slot[i].ids_n = (uint32_t)n_ids;
	c->slot[i].used = 1;
	c->count++;
out:
	pthread_mutex_unlock(&c->lock);
}

/* A queued pair: its rank, the node it starts at and the ids the pair
 * held then (a neighbour's merge makes the entry stale). */
struct bpe_heap_ent {
	int32_t rank, pos, left, right;
};

void
bpe_scratch_free(struct bpe_scratch *s)
{
	free(s->id);
	free(s->prev);
	free(s->next);
	free(s->changed);
	free(s->heap);
}

static int
heap_less(const struct bpe_heap_ent *a, const struct bpe_heap_ent *b)
{
	return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static int
heap_push(struct bpe_scratch *s, struct bpe_heap_ent e)
{
	size_t i, p;

	if (s->heap_n == s->heap_cap) {
		size_t ncap = s->heap_cap ? s->heap_cap * 2 : 64;
		struct bpe_heap_ent *h;

		if (ncap > SIZE_MAX / sizeof(*h))
			return -1;
		h = realloc(s->heap, ncap * sizeof(*h));
		if (h == NULL)
			return -1;
		s->heap = h;
		s->heap_cap = ncap;
	}
	i = s->heap_n++;
	while (i > 0) {
		p = (i - 1) / 2;
		if (!heap_less(&e, &s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = e;
	return 0;
}

static struct bpe_heap_ent
heap_pop(struct bpe_scratch *s)
{
	struct bpe_heap_ent top = s->heap[0], last = s->heap[--s->heap_n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < s->heap_n) {
		if (c + 1 < s->heap_n && heap_less(&s->heap[c + 1],
		    &s->heap[c]))
			c++;
		if (!heap_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->heap_n > 0)
		s->heap[i] = last;
	return top;
}

/* Queues the pair starting at node a if it is a merge. */
static int
push_pair(const struct bpe *bp, struct bpe_scratch *s, int32_t a)
{
	struct bpe_heap_ent e;
	int32_t merged, b;

	if (a < 0 || (b = s->next[a]) < 0)
		return 0;
	e.rank = pairmap_get(&bp->merges, s->id[a], s->id[b], &merged);
	if (e.rank < 0)
		return 0;
	e.pos = a;
	e.left = s->id[a];
	e.right = s->id[b];
	return heap_push(s, e);
}

/* BPE of one piece (its UTF-8 bytes), appending ids to out. Like the
 * reference, each round takes the lowest-ranked pair present and merges
 * every occurrence left to right before looking again. */
static int
bpe_word(const struct bpe *bp, struct bpe_scratch *s,
    const unsigned char *w, size_t n, struct i32vec *out)
{
	size_t i, nch;
	int32_t p;

	if (n > INT32_MAX)
		return -1;
	if (n > s->nodes) {
		int32_t *a = realloc(s->id, n * sizeof(*a));

		if (a == NULL)
			return -1;
		s->id = a;
		if ((a = realloc(s->prev, n * sizeof(*a))) == NULL)
			return -1;
		s->prev = a;
		if ((a = realloc(s->next, n * sizeof(*a))) == NULL)
			return -1;
		s->next = a;
		if ((a = realloc(s->changed, n * sizeof(*a))) == NULL)
			return -1;
		s->changed = a;
		s->nodes = n;
	}
	for (i = 0; i < n; i++) {
		s->id[i] = i + 1 < n ? bp->byte_id[w[i]] :
		    bp->byte_end_id[w[i]];
		s->prev[i] = (int32_t)i - 1;
		s->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
	}
	s->heap_n = 0;
	for (i = 0; i + 1 < n; i++)
		if (push_pair(bp, s, (int32_t)i) != 0)
			return -1;
	while (s->heap_n > 0) {
		int32_t rank = s->heap[0].rank;

		nch = 0;
		while (s->heap_n > 0 && s->heap[0].rank == rank) {
			struct bpe_heap_ent e = heap_pop(s);
			int32_t b, merged;

			/* Entries go stale when a neighbour merged. */
			if (s->id[e.pos] != e.left || (b = s->next[e.pos]) < 0 ||
			    s->id[b] != e.right)
				continue;
			pairmap_get(&bp->merges, e.left, e.right, &merged);
			s->id[e.pos] = merged;
			s->next[e.pos] = s->next[b];
			if (s->next[b] >= 0)
				s->prev[s->next[b]] = e.pos;
			s->id[b] = -1;	/* dead: no entry can match it */
			s->changed[nch++] = e.pos;
		}
		for (i = 0; i < nch; i++)
			if (push_pair(bp, s, s->prev[s->changed[i]]) != 0 ||
			    push_pair(bp, s, s->changed[i]) != 0)
				return -1;
	}
	for (p = 0; p >= 0; p = s->next[p])
		if (i32_push(out, s->id[p]) != 0)
			return -1;
	return 0;
}

int
bpe_encode(const struct bpe *bp, struct bpe_scratch *s, const char *w,
    size_t n, struct i32vec *out)
{
	size_t before;
	uint64_t h;
	int r;

	h = hash_bytes(w, n);
	r = cache_get(bp->cache, w, n, h, out);
	if (r != 0)
		return r < 0 ? -1 : 0;
	before = out->n;
	if (bpe_word(bp, s, (const unsigned char *)w, n, out) != 0)
		return -1;
	cache_put(bp->cache, w, n, h, out->v + before, out->n - before);
	return 0;
}
