/* extras.h - LoRAs and textual-inversion embeddings, AUTOMATIC1111's
 * "extra networks", and upscaler models: NAME.safetensors files in [paths]
 * loras, [paths] embeddings and [paths] upscalers, each classified from its
 * header alone (no tensor data is read, and the engine is not linked):
 * what kind of file it is, the model family it was trained for, a LoRA's
 * format, an embedding's vectors, an upscaler's architecture and scale. */
#ifndef KILN_EXTRAS_H
#define KILN_EXTRAS_H

#include <stddef.h>
#include <stdint.h>

#include "models.h"

struct sth_file;

enum extra_kind { EXTRA_LORA, EXTRA_EMBEDDING, EXTRA_UPSCALER };

/* "lora", "embedding" or "upscaler". */
const char *extra_kind_name(enum extra_kind k);

struct extra_info {
	char *name;		/* the file's name less .safetensors */
	char *path;
	enum extra_kind kind;	/* the folder it was found in */
	/* NULL when the file is usable as kind; else why not, naming the
	 * file ("x.safetensors: truncated: ..."; "x.safetensors is a LoRA,
	 * not an embedding"). The fields below are then unset. */
	char *error;
	enum sd_family family;	/* what it was trained for, or unknown */
	const char *format;	/* LoRA: "kohya" or "peft"; else NULL */
	int modules;		/* LoRA: the layers it patches */
	int vectors;		/* embedding: the vectors a use inserts */
	int width;		/* embedding: their width (SDXL 768+1280) */
	const char *arch;	/* upscaler: "RRDBNet" or "SRVGGNet" */
	int scale;		/* upscaler: its factor (1, 2, 4, 8) */
	/* A LoRA's __metadata__ sshs_model_hash, which AUTOMATIC1111 takes
	 * for its hash rather than hash the file; NULL when absent. */
	char *sshs_hash;
	struct sth_file *header;	/* NULL when the file did not read */
	uint64_t size;
	int64_t mtime_ns;
};

/* Classifies h, the header of file (its name, for messages), as a LoRA
 * or an embedding (kind), filling x's family, format, modules, vectors,
 * width and sshs_hash. Returns 0, or -1 with why it is not one in err:
 * neither kind, the other kind, an incomplete LoRA (lora_down without
 * lora_up, ranks that differ), LyCORIS modules kiln cannot apply, an
 * embedding whose shapes are not an embedding's. */
int extra_classify(const struct sth_file *h, enum extra_kind kind,
	const char *file, struct extra_info *x, char *err, size_t errlen);

/* Classifies h as an upscaler as the engine's upscaler.c reads one (the
 * same tensor names and shapes): an RRDBNet in Real-ESRGAN's or the old
 * ESRGAN naming, or a compact SRVGGNet; x's arch and scale. Returns 0, or
 * -1 with why not in err. */
int extra_classify_upscaler(const struct sth_file *h, const char *file,
	struct extra_info *x, char *err, size_t errlen);

/* 1 when h has the keys of a LoRA (lora_down/lora_up, lora_A/lora_B);
 * of an embedding (emb_params, clip_l and clip_g). */
int extra_is_lora(const struct sth_file *h);
int extra_is_embedding(const struct sth_file *h);

/* The file name (NAME.safetensors) of kind in dir, read and classified
 * into *x (free with extra_info_clear). Returns 0 when it is usable, or
 * -1 with why not in err: a bad name, not there, not of that kind. */
int extra_load(const char *dir, enum extra_kind kind, const char *name,
	struct extra_info *x, char *err, size_t errlen);

void extra_info_clear(struct extra_info *x);

/* Every NAME.safetensors in dir whose name passes model_name_ok, sorted
 * by name, each loaded as extra_load does (an unusable one carries its
 * error). A missing dir holds none. Returns the count with *out (free
 * with extras_free), or -1 when dir exists but cannot be read. */
int extras_list(const char *dir, enum extra_kind kind,
	struct extra_info **out);
void extras_free(struct extra_info *x, int n);

/* A ControlNet of dir (AUTOMATIC1111's models/ControlNet) by name: the
 * file NAME.safetensors, or the folder NAME/ in diffusers' layout
 * (config.json beside diffusion_pytorch_model.safetensors), its header
 * holding a hint embedding (controlnet_cond_embedding.*, or
 * input_hint_block.* of lllyasviel's files), as the engine's
 * controlnet_load reads one. Returns 0 with the path the engine loads
 * in path, or -1 with why not in err (a bad name, not there, not a
 * ControlNet; the message names the ones there are). */
int controlnet_find(const char *dir, const char *name, char *path,
	size_t pathlen, char *err, size_t errlen);

/* The names controlnet_find takes in dir, sorted. Returns the count
 * with *names (free with models_list_free), or -1 when dir exists but
 * cannot be read (a missing dir holds none). */
int controlnets_list(const char *dir, char ***names);

#endif
