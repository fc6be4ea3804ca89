/* safetensors.h - reads .safetensors weights (one file, or a model spread
 * over a single-file checkpoint or a diffusers folder) without trusting
 * a byte of them. */
#ifndef KILN_SAFETENSORS_H
#define KILN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

/* Header limits: the reference implementation refuses headers above
 * 100 MB too; real SD checkpoints have headers of a few hundred KB. */
#define ST_MAX_HEADER	100000000u
#define ST_MAX_DIMS	8

struct st_file;

/* Every dtype the format defines. Only F32, F16 and BF16 convert to
 * floating point; the others are listed (a checkpoint may legitimately
 * carry, say, an I64 position_ids buffer) and refused on conversion. */
enum st_dtype {
	ST_F32, ST_F16, ST_BF16,
	ST_F64, ST_I64, ST_U64, ST_I32, ST_U32, ST_I16, ST_U16, ST_I8, ST_U8,
	ST_BOOL, ST_F8_E4M3, ST_F8_E5M2, ST_F8_E8M0, ST_F6_E2M3, ST_F6_E3M2,
	ST_F4, ST_C64,
	ST_DTYPE__MAX
};

struct st_tensor {
	const char *name;	/* as written in the header */
	enum st_dtype dtype;
	int ndim;		/* 0 (a scalar) .. ST_MAX_DIMS */
	int64_t shape[ST_MAX_DIMS];
	size_t nelems;		/* product of shape; 1 for a scalar */
	size_t nbytes;		/* == data_offsets[1] - data_offsets[0] */
	const void *data;	/* in the mapping: read-only, maybe unaligned */
	const struct st_file *file;	/* the file it lives in */
};

/* The dtype's name as the format spells it ("F32", "BF16", ...). */
const char *st_dtype_name(enum st_dtype dt);

/* "[2, 3]" into buf, cut short when buf is too small (a dimension takes
 * up to 22 bytes); returns buf. The engine's one shape printer, for
 * device tensors too (kt_shape_str). */
const char *st_shape_text(char *buf, size_t n, const int64_t *shape,
    int ndim);

/* Maps the file read-only (the descriptor is closed again at once), parses
 * and validates the header: its length against the file and against
 * ST_MAX_HEADER, the JSON, every entry's dtype, shape and data_offsets,
 * sizes against offsets (with overflow checks), and that the tensors tile
 * the data area exactly (no overlap, no hole, no trailing bytes), as the
 * reference implementation demands. __metadata__ must map strings to
 * strings and is not a tensor.
 *
 * A name that appears twice keeps its last entry (json-c's behaviour, and
 * the reference implementation's); the bytes of the earlier one then
 * belong to no tensor, which the tiling check rejects unless both entries
 * describe the same bytes.
 *
 * Returns the file, or NULL with a message naming the file and the tensor
 * in err (errlen bytes; a message that does not fit ends in "...").
 * Release it with st_close(); tensors and their data live until then. */
struct st_file *st_open(const char *path, char *err, size_t errlen);

/* The same over bytes the caller holds: buf is borrowed, not copied, and
 * must outlive the result. name is used in messages (copied). */
struct st_file *st_open_mem(const void *buf, size_t len, const char *name,
    char *err, size_t errlen);

/* Unmaps and frees; accepts NULL. */
void st_close(struct st_file *f);

/* The name given to st_open/st_open_mem. */
const char *st_name(const struct st_file *f);

/* Tensors are indexed 0 .. st_count()-1 in byte order of their names. */
size_t st_count(const struct st_file *f);
/* Returns NULL when i is out of range. */
const struct st_tensor *st_get(const struct st_file *f, size_t i);
/* Returns the tensor, or NULL when the file has none of that name. */
const struct st_tensor *st_find(const struct st_file *f, const char *name);

/* A __metadata__ value, or NULL when the key is absent. */
const char *st_metadata(const struct st_file *f, const char *key);

/* Convert a whole tensor into dst, which holds exactly n = t->nelems
 * values (anything else is an error: nothing is cut short). The source
 * must be F32, F16 or BF16. st_to_f16 rounds to nearest even and refuses a
 * finite value too large for float16 rather than turning it into infinity
 * (the caller may keep that tensor in F32 instead). Return 0, or -1 with a
 * message naming the file, the tensor and the problem in err; dst may
 * then hold part of the values. */
int st_to_f32(const struct st_tensor *t, float *dst, size_t n, char *err,
    size_t errlen);
int st_to_f16(const struct st_tensor *t, uint16_t *dst, size_t n, char *err,
    size_t errlen);

/* Gives the resident pages that lie wholly inside t's bytes back to the
 * kernel once a loader has copied them to the device (the mapping is
 * read-only and private: a later read, a LoRA's restore for one, maps
 * them from the file again). Without it a model's weights sit in memory
 * twice, once in the mapping and once in the device's buffers, which on
 * PoCL are host memory too. A file given by st_open_mem is left
 * alone. */
void st_tensor_unmap_pages(const struct st_tensor *t);

/* --- a whole model: text encoder(s), UNet and VAE ------------------- */

/* ST_PART_TEXT2 is SDXL's second text encoder (OpenCLIP bigG;
 * text_encoder_2/ in diffusers folders). ST_PART_CONTROL is a
 * ControlNet: a file of its own (control_model.* in lllyasviel's single
 * files, diffusers' ControlNetModel names otherwise), named like the
 * UNet's encoder half plus its hint embedding and zero convolutions. */
enum st_part {
	ST_PART_TEXT, ST_PART_TEXT2, ST_PART_UNET, ST_PART_VAE,
	ST_PART_CONTROL, ST_PART__MAX
};

/* How the file names the tensors (the index gives every part canonical
 * names either way, see names.h). LDM: a single-file checkpoint, the
 * UNet and VAE under CompVis / SGM names (input_blocks.0.0.weight,
 * encoder.down.0.block.0.conv1.weight). DIFFUSERS: a diffusers folder,
 * names as diffusers writes them (down_blocks.0.resnets.0.conv1.weight). */
enum st_layout { ST_LAYOUT_LDM, ST_LAYOUT_DIFFUSERS };

/* Which text encoder a text part holds. HF_CLIP: transformers'
 * CLIPTextModel (text_model.encoder.layers.0.self_attn.q_proj.weight), SD
 * 1.x single files, SDXL's first encoder and every diffusers folder.
 * OPENCLIP: open_clip's (transformer.resblocks.0.attn.in_proj_weight), SD
 * 2.x single files and SDXL's second encoder: GELU, and SD uses its
 * penultimate layer. */
enum st_text_flavour { ST_TEXT_NONE, ST_TEXT_HF_CLIP, ST_TEXT_OPENCLIP };

/* One tensor of a part under its canonical name (names.h): a whole file
 * tensor, rows of one (OpenCLIP's fused q, k, v) or the transpose of one
 * (OpenCLIP's text_projection). A file tensor no conversion rule knows is
 * indexed under its own name, prefix stripped: nothing is dropped. */
struct st_entry {
	const char *name;		/* canonical */
	const struct st_tensor *t;	/* in the file; t->name is the key */
	int64_t row0, rows;	/* rows [row0, row0 + rows) of t; rows 0: all */
	int transposed;		/* the 2-D t transposed */
	/* The canonical tensor's shape: t's, with rows or transposed
	 * applied. */
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	size_t nelems;
};

struct st_model;

/* Opens path, which is one of:
 *  - a single-file checkpoint: the text part is cond_stage_model.
 *    transformer.* (HF CLIP) or cond_stage_model.model.* (OpenCLIP), the
 *    UNet part model.diffusion_model.*, the VAE part first_stage_model.*;
 *    SDXL's (SGM) text parts are conditioner.embedders.0.transformer.*
 *    and conditioner.embedders.1.model.* (embedders.0.model.* in the
 *    refiner). Other keys (model_ema.*, alphas_cumprod, ...) belong to no
 *    part. A ControlNet's single file is control_model.*;
 *  - a diffusers folder with text_encoder/, text_encoder_2/, unet/ and
 *    vae/ subfolders (model.safetensors or
 *    diffusion_pytorch_model.safetensors, else their .fp16.safetensors
 *    variants);
 *  - one such subfolder, or a .safetensors file inside one, given
 *    directly: the part comes from the folder name or its config.json;
 *  - a ControlNet in diffusers names (controlnet_cond_embedding.*), with
 *    or without a config.json beside it.
 * Every part is indexed by canonical name at once (see st_entry); two
 * tensors of a part that convert to the same name, or one a rule cannot
 * convert (a fused q, k, v that is not [3D, D]), fail the open with a
 * message naming the tensor. Each diffusers subfolder's config.json, when
 * present, is kept as text. Parts may be missing (st_model_has_part says),
 * but not all of them. Returns the model, or NULL with a message in err. */
struct st_model *st_model_open(const char *path, char *err, size_t errlen);

/* The same for a single-file checkpoint held in memory (buf is borrowed
 * and must outlive the model; name is for messages): the fuzz harness's
 * way in. */
struct st_model *st_model_open_mem(const void *buf, size_t len,
    const char *name, char *err, size_t errlen);

/* Closes every file; accepts NULL. */
void st_model_close(struct st_model *m);

enum st_layout st_model_layout(const struct st_model *m);
/* The flavour of ST_PART_TEXT. */
enum st_text_flavour st_model_text_flavour(const struct st_model *m);
/* The flavour of either text part (ST_TEXT_NONE for the others and for a
 * missing one). */
enum st_text_flavour st_model_part_flavour(const struct st_model *m,
    enum st_part part);
int st_model_has_part(const struct st_model *m, enum st_part part);

/* The part's tensor of that canonical name, or NULL when there is none. */
const struct st_entry *st_model_find(const struct st_model *m,
    enum st_part part, const char *name);

/* Iterates a part in byte order of the canonical names: count, then the
 * i-th entry (NULL when i is out of range). */
size_t st_model_count(const struct st_model *m, enum st_part part);
const struct st_entry *st_model_entry(const struct st_model *m,
    enum st_part part, size_t i);

/* Which Stable Diffusion a model is, told in one place for the loaders
 * and the registry. */
enum st_family {
	ST_FAMILY_UNKNOWN,	/* no UNet or text encoder to tell by */
	ST_FAMILY_SD1,		/* SD 1.x and models shaped like it */
	ST_FAMILY_SD2,		/* SD 2.x: OpenCLIP ViT-H, 1024-wide context */
	ST_FAMILY_SDXL,		/* SDXL base or refiner */
};

/* The model's family, from its tensors and configs: SDXL when it has a
 * second text encoder or its UNet has add_embedding (size and pooled-text
 * conditioning; label_emb in single files, addition_embed_type "text_time"
 * in config.json); SD 2.x when its text encoder is OpenCLIP or its
 * cross-attention (or text encoder) is 1024 wide; SD 1.x for any other
 * UNet or text encoder. */
enum st_family st_model_family(const struct st_model *m);

/* "sd1", "sd2", "sdxl" or "unknown". */
const char *st_family_name(enum st_family f);

/* The part's config.json as read (NUL-terminated), or NULL when it has
 * none (always NULL for a single-file checkpoint). */
const char *st_model_config(const struct st_model *m, enum st_part part);

/* The file holding the part, or NULL when the part is missing. Parts of a
 * single-file checkpoint share one. Owned by the model. */
const struct st_file *st_model_file(const struct st_model *m,
    enum st_part part);

/* "text", "text2", "unet", "vae", "controlnet": for messages. */
const char *st_part_name(enum st_part part);

#endif
