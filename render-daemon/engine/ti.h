/* ti.h - textual-inversion embeddings as AUTOMATIC1111 uses them: a
 * .safetensors file of vectors that stand in for its name's tokens
 * wherever a prompt names it (see textcond.h), read and checked without
 * trusting a byte; and a folder of them, loaded when a prompt names one
 * and kept while the file stays the same. */
#ifndef KILN_TI_H
#define KILN_TI_H

#include <stddef.h>
#include <stdint.h>

/* Which vectors of a file: the one tensor of an SD 1.x / 2.x embedding
 * (emb_params or whatever its name), or SDXL's pair, clip_l for the
 * CLIP-L encoder and clip_g for OpenCLIP bigG. */
enum ti_key { TI_VECTORS, TI_CLIP_L, TI_CLIP_G, TI__KEYS };

/* "vectors", "clip_l", "clip_g". */
const char *ti_key_name(enum ti_key k);

struct ti_embedding {
	char *name;		/* as prompts spell it: the file's stem */
	char *file;		/* the file's name, for messages */
	int n;			/* vectors: 1 .. CLIP_TI_MAX_VECTORS */
	int sdxl;		/* clip_l and clip_g; else TI_VECTORS */
	char *tensor;		/* TI_VECTORS: the one tensor's name */
	int width[TI__KEYS];	/* 0 for a key the file lacks */
	float *vec[TI__KEYS];	/* n x width[k] floats, or NULL */
};

/*
 * Reads the embedding at path, named name (NULL: the file's name less its
 * extension), as A1111's load_from_file reads a .safetensors one: clip_l
 * and clip_g (SDXL; other tensors beside them are ignored, as A1111
 * ignores them), else exactly one tensor, [n, width] or [width] (one
 * vector); F32, F16 or BF16. Only .safetensors files are read: a .pt,
 * .bin, .ckpt or .pth embedding is a Python pickle, refused with that
 * said, as is any other kind. Returns 0 with *out (free with ti_free),
 * or -1 with a message naming the file and what is wrong with it (not
 * safetensors, truncated, several tensors, clip_l without clip_g, vector
 * counts that differ, more vectors than a window holds, a shape that is
 * not [n, width], a dtype that is not float).
 */
int ti_load(const char *path, const char *name, struct ti_embedding **out,
    char *err, size_t errlen);

/* The same over len bytes of a .safetensors file the caller holds (file
 * names it in messages; name as for ti_load, from file when NULL): the
 * fuzz harness's way in. */
int ti_load_mem(const void *buf, size_t len, const char *file,
    const char *name, struct ti_embedding **out, char *err, size_t errlen);

/* Frees e; accepts NULL. */
void ti_free(struct ti_embedding *e);

/* --- a folder of embeddings ------------------------------------------- */

struct ti_dir;

/* An empty folder cache. Returns NULL when memory runs out. Free with
 * ti_dir_free. */
struct ti_dir *ti_dir_new(void);

/* Frees the cache and every embedding it loaded; accepts NULL. */
void ti_dir_free(struct ti_dir *d);

/*
 * Lists dir again: every NAME.safetensors, and NAME.pt / .bin / .ckpt /
 * .pth (the pickled embeddings A1111 also reads, which ti_dir_get then
 * refuses saying why) where no NAME.safetensors is; hidden files are
 * skipped. An entry whose file has the size and modification time it had
 * keeps what was loaded from it; the others are read again when asked
 * for. A dir that does not exist holds none. Returns the number of
 * entries, or -1 with a message in err (dir unreadable, out of memory).
 */
int ti_dir_scan(struct ti_dir *d, const char *dir, char *err,
    size_t errlen);

/* The entries of the last scan, sorted by name (byte order): count,
 * name (the file's stem) and path of entry i (0 .. count - 1). */
int ti_dir_count(const struct ti_dir *d);
const char *ti_dir_name(const struct ti_dir *d, int i);
const char *ti_dir_path(const struct ti_dir *d, int i);

/* Entry i's embedding, read now (ti_load) unless it was already. Returns
 * it (owned by d, valid until the entry's file changes and a scan sees
 * it, or ti_dir_free), or NULL with ti_load's message in err. */
const struct ti_embedding *ti_dir_get(struct ti_dir *d, int i, char *err,
    size_t errlen);

#endif
