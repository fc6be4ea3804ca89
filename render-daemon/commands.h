/* commands.h - kiln-render's subcommands, one file each (cmd_*.c). Each
 * takes the arguments after its name and returns the exit status. */
#ifndef KILN_COMMANDS_H
#define KILN_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"

int cmd_devices(int argc, char **argv);
int cmd_op(int argc, char **argv);
int cmd_encode_text(int argc, char **argv);
int cmd_unet(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_st_dump(int argc, char **argv);
int cmd_canny(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_vae_decode(int argc, char **argv);
int cmd_vae_encode(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_bench_gemm(int argc, char **argv);
int cmd_bench_attention(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_lora_targets(int argc, char **argv);
int cmd_mask(int argc, char **argv);
int cmd_upscale(int argc, char **argv);

struct engine_opts;
struct kiln_rt;
struct lora_spec;
struct lora_state;
struct st_model;
struct wt_registry;

/* The most --lora options one command takes. */
#define CLI_LORAS_MAX 16

/* One --lora FILE[:WEIGHT[:UNET_WEIGHT]] (weights default 1, the UNet's
 * to the weight; a FILE with a ':' of its own needs the weight) appended
 * to l[*n], at most CLI_LORAS_MAX, its path a copy (cli_loras_free).
 * Returns 0, or -1 after saying why on stderr. */
int cli_lora_arg(const char *cmd, const char *arg, struct lora_spec *l,
	int *n);

/* Frees the paths cli_lora_arg made. */
void cli_loras_free(struct lora_spec *l, int n);

/* Merges l[0..n-1] into the weights of m that reg recorded while they
 * loaded (rt->weights), into a new *state (free with lora_state_free
 * before the models; NULL when n is 0). Returns 0, or -1 after saying
 * why on stderr. */
int cli_loras_apply(const char *cmd, struct kiln_rt *rt,
	const struct st_model *m, struct wt_registry *reg,
	const struct lora_spec *l, int n, struct lora_state **state);

/* render's ControlNets: --controlnet FILE:IMAGE:WEIGHT[:START:END]
 * (repeatable) and --control-preprocessor none|canny[:LOW:HIGH] for the
 * --controlnet before it (default none; canny 100:200). */
#define CLI_CONTROLS_MAX GEN_MAX_CONTROLNETS
struct cli_controls {
	struct gen_control c[CLI_CONTROLS_MAX];
	int n;
	char *buf[CLI_CONTROLS_MAX];	/* the option's copy c.path is in */
	const char *image[CLI_CONTROLS_MAX];
	uint8_t *rgb[CLI_CONTROLS_MAX];	/* the images, once loaded */
};

/* Takes opt val when opt is one of the options above. Returns 1 when it
 * did, 0 when opt is another option, -1 after saying why on stderr. */
int cli_control_arg(struct cli_controls *cc, const char *opt,
	const char *val);
/* Reads the images. Returns 0, or -1 with err naming the option. */
int cli_controls_load(struct cli_controls *cc, char *err, size_t errlen);
/* Frees the copies and images; zeroes cc. */
void cli_controls_free(struct cli_controls *cc);

/* "NxCxHxW=FILE" (each side 1..max) into shape and the path within s.
 * Returns 0, or -1 when s is not that. */
int cli_shape4_file(const char *s, long long max, int64_t shape[4],
    const char **path);

/* The engine's options for a kiln-render command: the defaults, the
 * user's directories, then the KILN_* environment (engine_env.h): the
 * one place the command line reads them. Returns 0, or -1 with err. */
int cli_engine_opts(struct engine_opts *o, char *err, size_t errlen);

/* rt_open with cli_engine_opts' options. */
int cli_rt_open(struct kiln_rt **rt, const char *device, char *err,
	size_t errlen);

/* Tests (--fail-each-alloc): runs fn(arg), a forward pass that frees
 * what it makes, once for every device allocation it makes with that
 * allocation failing (rt->fail_alloc), then once without a failure, and
 * checks that each failed run gave back all the device memory it took:
 * error paths are otherwise never taken. Returns the number of failures
 * walked, or -1 after saying on stderr which one kept memory. */
int walk_alloc_failures(struct kiln_rt *rt, const char *cmd,
	int (*fn)(void *arg), void *arg);

/* --embedding FILE (repeatable) and --embeddings DIR, the textual-
 * inversion embeddings of encode-text and render. */
#define CLI_TI_FILES 64

struct clip_tokenizer;
struct ti_dir;
struct ti_embedding;

struct cli_ti {
	const char *file[CLI_TI_FILES];
	int nfile;
	const char *dir;
	struct ti_embedding *loaded[CLI_TI_FILES];	/* the files' */
	struct ti_dir *d;				/* the folder's */
	const struct ti_embedding **use;		/* cli_ti_for's */
	int nuse;
};

/* Takes flag a with its value v when it is one of the two. Returns 1
 * when taken, 0 when a is another flag, -1 after saying on stderr what
 * is wrong (too many files, DIR given twice). */
int cli_ti_arg(struct cli_ti *c, const char *a, const char *v);

/* Reads every --embedding file (each checked as ti_load checks it) and
 * lists --embeddings DIR. Returns 0, or -1 with a message naming the
 * file in err. */
int cli_ti_load(struct cli_ti *c, char *err, size_t errlen);

/* The embeddings np prompts get: every --embedding file, and the
 * entries of --embeddings DIR whose names the prompts use (read when
 * first used; a file of that name given with --embedding wins).
 * Returns 0 with *list and *n (owned by c, valid until its next call),
 * or -1 with a message naming the file in err. */
int cli_ti_for(struct cli_ti *c, const struct clip_tokenizer *tok,
	const char *const *prompts, int np,
	const struct ti_embedding *const **list, int *n, char *err,
	size_t errlen);

/* Frees what c loaded; c may be all zeros. */
void cli_ti_free(struct cli_ti *c);

#endif
