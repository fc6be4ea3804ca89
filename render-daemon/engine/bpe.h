/* bpe.h - byte-level BPE for the CLIP tokenizer: the vocabulary (token
 * string <-> id), the merge ranks, a word cache several threads share,
 * and the merge loop. Internal to the tokenizer. */
#ifndef KILN_BPE_H
#define KILN_BPE_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* A growable array of ids. Zero-initialise one ({ 0 }); free(v). */
struct i32vec {
	int32_t *v;
	size_t n, cap;
};

/* Appends x. Returns 0, or -1 when memory runs out. Inline: called once
 * per id. */
static inline int
i32_push(struct i32vec *a, int32_t x)
{
	size_t ncap;
	int32_t *p;

	if (a->n == a->cap) {
		if (a->cap > SIZE_MAX / 8)
			return -1;
		ncap = a->cap ? a->cap * 2 : 64;
		p = realloc(a->v, ncap * sizeof(*p));
		if (p == NULL)
			return -1;
		a->v = p;
		a->cap = ncap;
	}
	a->v[a->n++] = x;
	return 0;
}

/* A string's slot: its id (-1 = empty) and hash bits, which spare most
 * probes a visit to the arena. */
struct vocab_slot {
	int32_t id;
	uint32_t tag;
};

/* Token strings live in one arena; slot[] maps a string to its id by open
 * addressing (linear probing). */
struct vocab {
	struct buf arena;
	uint32_t *off, *len;	/* per id, into arena */
	size_t n, cap;		/* ids in use, room */
	struct vocab_slot *slot;
	size_t mask;
};

/* Prepares room for n ids and the lookup table. Returns 0 or -1 (out of
 * memory; vocab_free it all the same). */
int vocab_init(struct vocab *v, size_t n, size_t arena_hint);
void vocab_free(struct vocab *v);

/* The id of the string s[0..n), or -1 when it has none. */
int32_t vocab_get(const struct vocab *v, const char *s, size_t n);

/* Gives id the string s; a string that already had an id now maps to
 * this one (the reference builds a dict, so the later entry wins).
 * Returns 0 or -1 (out of memory or string too long). */
int vocab_set(struct vocab *v, int32_t id, const char *s, size_t n);

/* The merges: (left id, right id) -> rank and merged id, by open
 * addressing. */
struct pairmap {
	uint64_t *key;		/* UINT64_MAX = empty */
	int32_t *rank, *merged;
	size_t mask;
};

/* Prepares room for n merges. Returns 0 or -1 (out of memory;
 * pairmap_free it all the same). */
int pairmap_init(struct pairmap *p, size_t n);
void pairmap_free(struct pairmap *p);

/* Sets the pair's rank; a pair seen again takes the later rank, as the
 * reference's dict does. */
void pairmap_set(struct pairmap *p, int32_t a, int32_t b, int32_t rank,
    int32_t merged);

/* Word -> ids, shared by every caller of one tokenizer under a lock. */
struct word_cache;

/* Returns an empty cache, or NULL when memory runs out. */
struct word_cache *word_cache_new(void);
/* Frees a cache; NULL is fine. */
void word_cache_free(struct word_cache *c);

/* What the BPE of a word needs. */
struct bpe {
	struct pairmap merges;
	int32_t byte_id[256];		/* byte as a symbol inside a word */
	int32_t byte_end_id[256];	/* byte as the last symbol: "x</w>" */
	struct word_cache *cache;	/* mutable behind a const bpe */
};

struct bpe_heap_ent;

/* Reusable memory for the BPE of many words by one thread.
 * Zero-initialise one ({ 0 }); bpe_scratch_free it. */
struct bpe_scratch {
	int32_t *id, *prev, *next, *changed;
	size_t nodes;
	struct bpe_heap_ent *heap;
	size_t heap_n, heap_cap;
};

void bpe_scratch_free(struct bpe_scratch *s);

/* BPE of one word, w[0..n) (n > 0 bytes of UTF-8), through the cache:
 * appends its ids to out. Like the reference, each round takes the
 * lowest-ranked pair present and merges every occurrence left to right
 * before looking again. Returns 0, or -1 when memory runs out. */
int bpe_encode(const struct bpe *bp, struct bpe_scratch *s, const char *w,
    size_t n, struct i32vec *out);

#endif
