/* weights.h - moving named weights from a safetensors model onto the
 * device, with the shape checked and a message naming the tensor. */
#ifndef KILN_WEIGHTS_H
#define KILN_WEIGHTS_H

#include <stddef.h>

#include "safetensors.h"
#include "tensor.h"

struct wloader {
	struct kiln_rt *rt;
	const struct st_model *m;
	enum st_part part;
	const char *what;	/* "text encoder", "unet", "vae": messages */
	char *err;
	size_t errlen;
	/* Matrices (2-D and 4-D) stored as float16 in the file stay float16
	 * on the device (no precision is lost; half the memory): the GEMM
	 * and conv ops read them. Set by models whose matrices only feed
	 * those ops; engine_opts.weights_f32 turns it off. */
	int keep_f16;
	/* When set, canonical names are looked up in these nindex entries
	 * (sorted by name, strcmp order) instead of the part of m: the
	 * weights of a file that is no part of a Stable Diffusion model,
	 * such as an upscaler (upscaler.c), indexed by its loader. */
	const struct st_entry *index;
	size_t nindex;
};

struct json_object;

/* An integer setting of a model's config.json: key's value, or its i-th
 * element when it is an array (diffusers' per-block lists). Returns 0 with
 * *out, or -1 when it is missing or not an integer. */
int wt_config_int(struct json_object *o, const char *key, int i, int *out);

/* Writes tmpl with its first "%d" replaced by i (when it has one). */
void wt_expand(char *out, size_t n, const char *tmpl, int i);

/* The part's tensor of canonical name tmpl (expanded with i), or NULL.
 * Model code asks for canonical names only (names.h): the index maps
 * them to the file's tensors, rows of them or their transposes. */
const struct st_entry *wt_find(const struct wloader *ld, const char *tmpl,
	int i);

/* Uploads tensor tmpl(i) as F32 checking it has exactly the nd-dim shape
 * given (a 4-D conv weight may also be asked for as 2-D [O, C] when its
 * trailing dims are 1x1). Returns the device tensor, or NULL with err
 * naming the tensor. */
struct ktensor *wt_load(struct wloader *ld, const char *tmpl, int i,
	int nd, const int64_t *shape);

/* Uploads rows [r0, r0 + rows) of a [R, cols] or [R] tensor (cols 0), as
 * float32. */
struct ktensor *wt_load_rows(struct wloader *ld, const char *tmpl, int i,
	int64_t r0, int64_t rows, int64_t cols);

/* Uploads the weight of a linear layer, [out, in] (or a 1x1
 * convolution [out, in, 1, 1]), in the layout op_linear reads: stored
 * as its transpose [in, out], marked kn (see ktensor.kn), the logical
 * shape still [out, in]. Float16 stays float16 as for wt_load. Every
 * weight given to op_linear comes from here. Returns the device tensor,
 * or NULL with err naming the tensor. */
struct ktensor *wt_load_linear(struct wloader *ld, const char *tmpl, int i,
	int64_t out, int64_t in);

/* Shorthands for 1-D and 2-D tensors. */
struct ktensor *wt_load1(struct wloader *ld, const char *tmpl, int i,
	int64_t a);
struct ktensor *wt_load2(struct wloader *ld, const char *tmpl, int i,
	int64_t a, int64_t b);
struct ktensor *wt_load4(struct wloader *ld, const char *tmpl, int i,
	int64_t a, int64_t b, int64_t c, int64_t d);

/* --- declared weight tables ------------------------------------------ */

/* How a declared weight loads; d0, d1 are its dims (wdecl.dim). */
enum wd_kind {
	WD_VEC,		/* [d0], float32 */
	WD_MAT,		/* [d0, d1] as stored (embedding tables) */
	WD_LINEAR,	/* [d0 out, d1 in] for op_linear (wt_load_linear) */
	WD_CONV3,	/* [d0, d1, 3, 3] */
	WD_CONV1,	/* [d0, d1, 1, 1]; files may hold it as [d0, d1] */
};

/* wdecl.flags: always float32 on the device, even where the loader keeps
 * float16 (an op reads it without a float16 path: op_embed's tables). */
#define WD_F32	0x1u

/* One weight of a block, declared once: its name after the block's
 * prefix, how it loads, the struct ktensor * member of the block that
 * holds it (offsetof), its dims as indices into the values the block's
 * loader resolves (a block declares an enum of them), the bits of the
 * loader's `on` it needs to be there at all (0: always) and WD_ flags.
 * Loading and freeing both walk the one table, so they cannot
 * disagree. */
struct wdecl {
	const char *name;
	enum wd_kind kind;
	size_t off;
	unsigned char dim[2];
	unsigned need;
	unsigned flags;
};

/* An entry of a table of type's weights; WDN adds need bits, WDF flags. */
#define WD(type, nm, kd, field, d0, d1) \
	{ .name = (nm), .kind = (kd), .off = offsetof(type, field), \
	  .dim = { (d0), (d1) } }
#define WDN(type, nm, kd, field, d0, d1, nd) \
	{ .name = (nm), .kind = (kd), .off = offsetof(type, field), \
	  .dim = { (d0), (d1) }, .need = (nd) }
#define WDF(type, nm, kd, field, d0, d1, fl) \
	{ .name = (nm), .kind = (kd), .off = offsetof(type, field), \
	  .dim = { (d0), (d1) }, .flags = (fl) }

/* A table and its length, as wt_load_table and wt_free_table take
 * them. */
#define WT_TABLE(t) (t), (sizeof(t) / sizeof((t)[0]))

/* Loads every weight of table d (n entries) whose need bits are all in
 * on, named "prefix.name" (name alone when prefix is ""), with dims the
 * values of the table's dim indices, into the members of block. Returns
 * 0, or -1 with err naming the tensor and every tensor of the table in
 * block freed. */
int wt_load_table(struct wloader *ld, const char *prefix,
	const struct wdecl *d, size_t n, const int64_t *dims, unsigned on,
	void *block);

/* Frees every tensor table d (n entries) names in block and clears the
 * members; a zeroed block is fine. */
void wt_free_table(const struct wdecl *d, size_t n, void *block);

/* --- the record of uploaded weights ----------------------------------- */

/* One weight a loader uploaded, and how. While the runtime's registry
 * (kiln_rt.weights) is set, every load above records one, so that LoRA
 * (lora.h) can patch any model's weights and put the originals back by
 * uploading them again from the file exactly as the loader did. */
struct wt_record {
	enum st_part part;
	const struct st_entry *e;	/* in the model; e->name canonical */
	int64_t r0;		/* the first of e's rows uploaded */
	int nd;
	int64_t shape[4];	/* as loaded: canonical, before kn */
	enum kdtype dt;		/* on the device */
	int kn;			/* stored transposed (ktensor.kn) */
	struct ktensor *kt;	/* the model's: borrowed */
};

/* The registry holds records only: the models own the tensors and must
 * be freed after it or with it (a record is never used once its model
 * is gone). */
struct wt_registry;

/* Returns an empty registry, or NULL when memory runs out. */
struct wt_registry *wt_registry_new(void);
/* Accepts NULL. */
void wt_registry_free(struct wt_registry *r);
/* Appends a copy of w. Returns 0, or -1 when memory runs out. */
int wt_registry_add(struct wt_registry *r, const struct wt_record *w);
size_t wt_registry_count(const struct wt_registry *r);
/* The i-th record (in no particular order), or NULL past the end. */
const struct wt_record *wt_registry_get(const struct wt_registry *r,
	size_t i);
/* The record of the part's canonical name, or NULL when that weight was
 * not uploaded. Sorts the registry on first use after an add. */
const struct wt_record *wt_registry_find(struct wt_registry *r,
	enum st_part part, const char *name);

/* Uploads w's weight again from the model's file into its device
 * tensor, laid out as its loader did, with delta (float32, nelems of
 * the canonical shape w->shape, row-major) added first, or exactly the
 * original bytes when delta is NULL. Host memory: a few copies of the
 * one weight. Returns 0, or -1 with a message naming the part and the
 * weight in err (a patched float16 weight beyond float16's range, a
 * device error). */
int wt_reupload(struct kiln_rt *rt, const struct wt_record *w,
	const float *delta, char *err, size_t errlen);

#endif
