/* cmd_render.c - kiln-render render: text to image (and image to image)
 * from the command line, through the same pipeline the daemon runs; PNGs
 * with A1111 parameters and a JSON summary on stdout. */
#include "commands.h"
#include "extras.h"
#include "filehash.h"
#include "image.h"
#include "imginputs.h"
#include "lora.h"
#include "models.h"
#include "pipeline.h"
#include "prompt.h"
#include "runtime.h"
#include "upscaler.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_CANCELED 3

struct ropts {
	const char *model, *prompt, *negative, *width, *height, *steps, *cfg,
	    *sampler, *seed, *batch, *init, *strength, *prediction, *vocab,
	    *device, *out, *vae_budget, *prompts, *mask, *mask_blur,
	    *inpaint_fill, *only_masked_pad, *hires_scale, *hires_strength,
	    *hires_steps, *hires_upscaler, *resize_mode;
	int verbose, only_masked, invert_mask;
	int outpaint[OUT_SIDES];	/* --outpaint SIDE:PIXELS, summed */
	struct lora_spec loras[CLI_LORAS_MAX];	/* --lora, in order */
	int nloras;
	char default_model[PATH_MAX];	/* without --model */
	struct cli_ti ti;		/* --embedding, --embeddings */
	struct cli_controls controls;	/* --controlnet */
	/* A1111's "Model hash" of a single-file model, hashed at the first
	 * image; "" for a folder (A1111 shows none) or when unreadable. */
	char model_hash[HASH_HEX + 1];
	int model_hashed;
};

/*
 * The embedded default model, kiln-micro, where it lies relative to this
 * binary: in the source tree beside build/ (build/render-daemon/ ->
 * models/) or installed (bin/ -> share/kiln/models/), the same model
 * `make run` serves. Returns 0 with its path in out, -1 when neither is
 * there.
 */
static int
find_default_model(char *out, size_t n)
{
	static const char *const rel[] = { "../../models/kiln-micro",
	    "../share/kiln/models/kiln-micro" };
	char exe[PATH_MAX], *slash;
	struct stat st;
	ssize_t len;
	size_t i;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return -1;
	exe[len] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
		if (snprintf_checked(out, n, "%s/%s/model_index.json", exe,
		    rel[i]) == 0 && stat(out, &st) == 0 &&
		    snprintf_checked(out, n, "%s/%s", exe, rel[i]) == 0)
			return 0;
	return -1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: kiln-render [render] [--model PATH] --prompt TEXT -o "
	    "OUT.png\n"
	    "       [--negative TEXT] [--width 512] [--height 512] [--steps 20]"
	    "\n       [--cfg 7] [--sampler euler_a] [--seed N] [--batch N]\n"
	    "       [--init IMAGE [--strength 0.75]] [--prediction "
	    "auto|eps|v]\n"
	    "       [--mask MASK [--mask-blur 4] [--inpaint-fill "
	    "original|fill|latent-noise|\n"
	    "        latent-nothing] [--only-masked [--only-masked-padding "
	    "32]]]\n"
	    "       [--outpaint left|right|up|down:PIXELS ...] [--invert-mask]"
	    "\n       [--resize-mode 0|1|2]\n"
	    "       [--hires-scale S [--hires-strength 0.7] [--hires-steps N]"
	    "\n        [--hires-upscaler latent|latent-nearest|lanczos|FILE]]\n"
	    "       [--lora FILE[:WEIGHT[:UNET_WEIGHT]] ...]\n"
	    "       [--vocab PATH] [--vae-budget MB] [--device SEL] "
	    "[--verbose]\n"
	    "       [--embedding FILE]... [--embeddings DIR]\n"
	    "       [--controlnet FILE:IMAGE:WEIGHT[:START:END] "
	    "[--control-preprocessor\n        none|canny[:LOW:HIGH]]]...\n"
	    "   or: kiln-render [--model PATH] --prompts FILE [options]\n"
	    "Without --model: the default model, kiln-micro (in models/ "
	    "of the source\ntree, or share/kiln/models/ installed).\n"
	    "samplers: euler euler_a heun ddim dpmpp_2m dpmpp_2m_karras lcm\n"
	    "Without --seed a random one is drawn (and printed). With --batch "
	    "N > 1\nthe files are OUT.png, OUT-1.png, ... seeded seed, "
	    "seed+1, ...\nPrints a JSON summary on stdout; exit 2 on bad "
	    "arguments.\n"
	    "Options left out take the model's defaults (its kiln.json), "
	    "else the ones\nshown. --prompts renders every line of FILE, a "
	    "JSON object {\"prompt\", \"out\",\n\"seed\", \"negative\", "
	    "\"loras\"} (all but prompt and out optional; loras a list\nof "
	    "\"FILE:WEIGHT\" replacing the --lora set), with the model "
	    "loaded once; one\nsummary line per prompt. --lora merges a "
	    "LoRA (repeatable); the prompt's\n<lora:...> tags are left out "
	    "of the text, not applied.\n"
	    "--embedding FILE (a textual-inversion NAME.safetensors) stands "
	    "in for NAME\nwherever a prompt says it; --embeddings DIR "
	    "offers every such file in DIR,\nread when a prompt names "
	    "it.\n"
	    "--init with --mask inpaints (white repaints) and --outpaint "
	    "extends the\ncanvas: the result has the init's size (grown by "
	    "the outpaint), every\npixel outside the feathered mask "
	    "exactly the init's; it renders at\n--width x --height, by "
	    "default the init's size rounded to the model's grid.\n"
	    "--resize-mode fits --init to the size as AUTOMATIC1111's: 0 "
	    "stretches, 1\ncrops the middle of the scaled image, 2 fills "
	    "around it with its edges.\n--invert-mask repaints where the "
	    "mask is black.\n"
	    "--hires-scale renders, enlarges by S and runs a second img2img "
	    "pass.\n"
	    "--controlnet applies a ControlNet with IMAGE (resized to the "
	    "output) at\nWEIGHT from START to END (fractions of the steps, "
	    "default 0:1); repeatable,\nthe residuals summed. "
	    "--control-preprocessor sets the --controlnet before it\n"
	    "(none: the image as it is; canny: its edges, thresholds "
	    "100:200).\n");
}

static int
outpainting(const struct ropts *o)
{
	int k;

	for (k = 0; k < OUT_SIDES; k++)
		if (o->outpaint[k] > 0)
			return 1;
	return 0;
}

/* --outpaint SIDE:PIXELS (repeatable; a side given twice adds up).
 * Returns 0, or -1 after a message. */
static int
outpaint_arg(const char *v, int pad[OUT_SIDES])
{
	const char *colon = strchr(v, ':');
	char side[16];
	long n;
	int k;

	if (colon == NULL || colon - v >= (long)sizeof(side)) {
		fprintf(stderr, "kiln-render: --outpaint: '%s' is not "
		    "SIDE:PIXELS (left, right, up, down)\n", v);
		return -1;
	}
	memcpy(side, v, (size_t)(colon - v));
	side[colon - v] = '\0';
	k = outpaint_side_lookup(side);
	if (k < 0) {
		fprintf(stderr, "kiln-render: --outpaint: '%s' is not a side "
		    "(left, right, up, down)\n", side);
		return -1;
	}
	if (parse_long(colon + 1, 1, OUTPAINT_MAX, &n) != 0 ||
	    pad[k] + n > OUTPAINT_MAX) {
		fprintf(stderr, "kiln-render: --outpaint: '%s' is not 1..%d "
		    "pixels\n", colon + 1, OUTPAINT_MAX);
		return -1;
	}
	pad[k] += (int)n;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct ropts *o)
{
	static const struct {
		const char *name;
		size_t off;
	} table[] = {
		{ "--model", offsetof(struct ropts, model) },
		{ "--prompt", offsetof(struct ropts, prompt) },
		{ "--negative", offsetof(struct ropts, negative) },
		{ "--negative-prompt", offsetof(struct ropts, negative) },
		{ "--width", offsetof(struct ropts, width) },
		{ "--height", offsetof(struct ropts, height) },
		{ "--steps", offsetof(struct ropts, steps) },
		{ "--cfg", offsetof(struct ropts, cfg) },
		{ "--sampler", offsetof(struct ropts, sampler) },
		{ "--seed", offsetof(struct ropts, seed) },
		{ "--batch", offsetof(struct ropts, batch) },
		{ "--init", offsetof(struct ropts, init) },
		{ "--strength", offsetof(struct ropts, strength) },
		{ "--prediction", offsetof(struct ropts, prediction) },
		{ "--vocab", offsetof(struct ropts, vocab) },
		{ "--device", offsetof(struct ropts, device) },
		{ "--vae-budget", offsetof(struct ropts, vae_budget) },
		{ "-o", offsetof(struct ropts, out) },
		{ "--out", offsetof(struct ropts, out) },
		{ "--prompts", offsetof(struct ropts, prompts) },
		{ "--mask", offsetof(struct ropts, mask) },
		{ "--mask-blur", offsetof(struct ropts, mask_blur) },
		{ "--inpaint-fill", offsetof(struct ropts, inpaint_fill) },
		{ "--only-masked-padding",
		    offsetof(struct ropts, only_masked_pad) },
		{ "--hires-scale", offsetof(struct ropts, hires_scale) },
		{ "--hires-strength", offsetof(struct ropts, hires_strength) },
		{ "--hires-steps", offsetof(struct ropts, hires_steps) },
		{ "--hires-upscaler", offsetof(struct ropts, hires_upscaler) },
		{ "--resize-mode", offsetof(struct ropts, resize_mode) },
	};
	size_t k;
	int i, t;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
			o->verbose = 1;
			continue;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 1;
		}
		if (!strcmp(argv[i], "--only-masked")) {
			o->only_masked = 1;
			continue;
		}
		if (!strcmp(argv[i], "--invert-mask")) {
			o->invert_mask = 1;
			continue;
		}
		if (!strcmp(argv[i], "--outpaint")) {
			if (i + 1 >= argc || outpaint_arg(argv[++i],
			    o->outpaint) != 0)
				return -1;
			continue;
		}
		if (!strcmp(argv[i], "--lora")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "kiln-render: --lora: missing "
				    "value\n");
				return -1;
			}
			if (cli_lora_arg("render", argv[++i], o->loras,
			    &o->nloras) != 0)
				return -1;
			continue;
		}
		if (i + 1 < argc && ((t = cli_ti_arg(&o->ti, argv[i],
		    argv[i + 1])) != 0 || (t = cli_control_arg(&o->controls,
		    argv[i], argv[i + 1])) != 0)) {
			if (t < 0)
				return -1;
			i++;
			continue;
		}
		for (k = 0; k < ARRAY_LEN(table); k++)
			if (!strcmp(argv[i], table[k].name))
				break;
		if (k == ARRAY_LEN(table)) {
			fprintf(stderr, "kiln-render: unknown option '%s'\n",
			    argv[i]);
			return -1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "kiln-render: %s: missing value\n",
			    argv[i]);
			return -1;
		}
		*(const char **)((char *)o + table[k].off) = argv[++i];
	}
	if (o->prompts == NULL && (o->prompt == NULL || o->out == NULL)) {
		fprintf(stderr, "kiln-render: %s is required\n",
		    o->prompt == NULL ? "--prompt (or --prompts)" : "-o");
		return -1;
	}
	if (o->model == NULL) {
		if (find_default_model(o->default_model,
		    sizeof(o->default_model)) != 0) {
			fprintf(stderr, "kiln-render: --model is required (the "
			    "default model, kiln-micro, is not beside this "
			    "binary)\n");
			return -1;
		}
		o->model = o->default_model;
		fprintf(stderr, "kiln-render: no --model: the default model, "
		    "%s\n", o->model);
	}
	if ((o->mask != NULL || outpainting(o)) && o->init == NULL) {
		fprintf(stderr, "kiln-render: --%s: needs --init\n",
		    o->mask != NULL ? "mask" : "outpaint");
		return -1;
	}
	if (o->mask != NULL && outpainting(o)) {
		fprintf(stderr, "kiln-render: --outpaint: the new area is the "
		    "mask; drop --mask\n");
		return -1;
	}
	if (o->prompts != NULL && (o->prompt != NULL || o->out != NULL ||
	    o->init != NULL)) {
		fprintf(stderr, "kiln-render: --prompts: the file gives each "
		    "prompt and output; drop --prompt, -o and --init\n");
		return -1;
	}
	return 0;
}

static int
bad(const char *flag, const char *val, const char *what)
{
	fprintf(stderr, "kiln-render: %s: '%s' is not %s\n", flag, val, what);
	return -1;
}

static int
get_int(const char *flag, const char *s, int *out)
{
	long v;

	if (s == NULL)
		return 0;
	if (parse_long(s, -1000000, 1000000, &v) != 0)
		return bad(flag, s, "an integer");
	*out = (int)v;
	return 0;
}

static int
get_double(const char *flag, const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v != v)
		return bad(flag, s, "a number");
	*out = v;
	return 0;
}

/* Fills gp from base and the options (seed drawn when absent). Returns 0,
 * or -1 after printing a message that names the flag. */
static int
to_params(const struct ropts *o, const struct gen_params *base,
    struct gen_params *gp)
{
	double mb = 0;

	*gp = *base;
	gp->prompt = o->prompt != NULL ? o->prompt : "";
	gp->negative = o->negative != NULL ? o->negative : "";
	if (get_int("--width", o->width, &gp->width) != 0 ||
	    get_int("--height", o->height, &gp->height) != 0 ||
	    get_int("--steps", o->steps, &gp->steps) != 0 ||
	    get_int("--batch", o->batch, &gp->batch) != 0 ||
	    get_double("--cfg", o->cfg, &gp->cfg) != 0 ||
	    get_double("--strength", o->strength, &gp->strength) != 0 ||
	    get_double("--vae-budget", o->vae_budget, &mb) != 0)
		return -1;
	if (mb < 0 || mb > 1e7)
		return bad("--vae-budget", o->vae_budget, "a size in MB");
	if (get_int("--mask-blur", o->mask_blur, &gp->mask_blur) != 0 ||
	    get_int("--only-masked-padding", o->only_masked_pad,
	    &gp->only_masked_pad) != 0 ||
	    get_double("--hires-scale", o->hires_scale,
	    &gp->hires_scale) != 0 ||
	    get_double("--hires-strength", o->hires_strength,
	    &gp->hires_strength) != 0 ||
	    get_int("--hires-steps", o->hires_steps, &gp->hires_steps) != 0)
		return -1;
	gp->only_masked = o->only_masked;
	/* The new area of an outpaint starts from the edge's colours. */
	if (outpainting(o))
		gp->fill = INPAINT_FILL;
	if (o->inpaint_fill != NULL &&
	    inpaint_fill_lookup(o->inpaint_fill, &gp->fill) != 0)
		return bad("--inpaint-fill", o->inpaint_fill, "original, fill, "
		    "latent-noise or latent-nothing");
	if (o->hires_upscaler == NULL)
		gp->hires_mode = HIRES_LATENT;
	else if (gen_hires_lookup(o->hires_upscaler, &gp->hires_mode) == 0)
		;
	else if (strchr(o->hires_upscaler, '/') != NULL ||
	    str_has_suffix(o->hires_upscaler, ".safetensors"))
		gp->hires_mode = HIRES_IMAGE;	/* a file: render_main loads
						 * it */
	else
		return bad("--hires-upscaler", o->hires_upscaler, "latent, "
		    "latent-nearest, lanczos or an upscaler file");
	if (o->hires_scale == NULL && (o->hires_strength != NULL ||
	    o->hires_steps != NULL || o->hires_upscaler != NULL)) {
		fprintf(stderr, "kiln-render: --hires-*: needs "
		    "--hires-scale\n");
		return -1;
	}
	gp->vae_budget = (size_t)(mb * 1048576.0);
	if (o->sampler != NULL &&
	    sampler_lookup(o->sampler, &gp->sampler) != 0)
		return bad("--sampler", o->sampler, "a sampler (euler euler_a "
		    "heun ddim dpmpp_2m dpmpp_2m_karras lcm)");
	if (o->prediction == NULL || !strcmp(o->prediction, "auto"))
		gp->prediction = GEN_PRED_AUTO;
	else if (!strcmp(o->prediction, "eps"))
		gp->prediction = GEN_PRED_EPS;
	else if (!strcmp(o->prediction, "v"))
		gp->prediction = GEN_PRED_V;
	else
		return bad("--prediction", o->prediction, "auto, eps or v");
	if (o->seed != NULL) {
		unsigned long long v;
		char *end;

		errno = 0;
		v = strtoull(o->seed, &end, 10);
		if (errno != 0 || end == o->seed || *end != '\0' ||
		    o->seed[0] == '-' || o->seed[0] == '+')
			return bad("--seed", o->seed, "an unsigned 64-bit "
			    "integer");
		gp->seed = v;
	} else {
		uint32_t r;

		/* 32 bits: seeds people can read back and retype. */
		if (random_bytes(&r, sizeof(r)) != 0) {
			fprintf(stderr, "kiln-render: --seed: no randomness "
			    "from the kernel\n");
			return -1;
		}
		gp->seed = r;
	}
	if (o->strength != NULL && o->init == NULL) {
		fprintf(stderr, "kiln-render: --strength: needs --init\n");
		return -1;
	}
	return 0;
}

/* The i-th output name: out.png, out-1.png, ... (the suffix before the
 * extension). Returns a malloc'd string or NULL. */
static char *
out_name(const char *out, int i)
{
	const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
	size_t stem, n = strlen(out) + 16;
	char *s = malloc(n);

	if (s == NULL)
		return NULL;
	if (i == 0) {
		memcpy(s, out, strlen(out) + 1);
		return s;
	}
	if (dot == NULL || (slash != NULL && dot < slash) || dot == out ||
	    (slash != NULL && dot == slash + 1))
		dot = out + strlen(out);
	stem = (size_t)(dot - out);
	snprintf(s, n, "%.*s-%d%s", (int)stem, out, i, dot);
	return s;
}

/* The model's name for "Model:": the last path component without
 * .safetensors / .ckpt (a trailing '/' of a folder ignored). */
static char *
model_name(const char *path)
{
	size_t n = strlen(path);
	const char *b;
	char *s;

	while (n > 1 && path[n - 1] == '/')
		n--;
	b = path + n;
	while (b > path && b[-1] != '/')
		b--;
	s = strndup(b, (size_t)(path + n - b));
	if (s != NULL) {
		char *dot = strrchr(s, '.');

		if (dot != NULL && dot != s && (!strcmp(dot, ".safetensors") ||
		    !strcmp(dot, ".ckpt")))
			*dot = '\0';
	}
	return s;
}

/* What the parameters record of the LoRAs a render merged, the way an
 * A1111 image would carry them: the prompt with a <lora:NAME:W> tag for
 * each (NAME the file's stem; W the text weight, then the UNet's when
 * they differ, A1111's <lora:NAME:TE:UNET>) that it does not name
 * already, and each one's hash for "Lora hashes": its metadata's
 * sshs_model_hash, else kohya's hash of the data after the header. */
struct lora_meta {
	char *prompt;
	char *name[CLI_LORAS_MAX];
	char hash[CLI_LORAS_MAX][HASH_HEX + 1];
	struct image_lora list[CLI_LORAS_MAX];
	int n;
};

static void
lora_meta_free(struct lora_meta *m)
{
	int i;

	free(m->prompt);
	for (i = 0; i < CLI_LORAS_MAX; i++)
		free(m->name[i]);
	memset(m, 0, sizeof(*m));
}

static int
lora_meta_make(struct lora_meta *m, const char *prompt,
    const struct lora_spec *l, int nl)
{
	size_t cap = strlen(prompt) + 1, len;
	char tag[256], e[512];
	int i, k;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < nl; i++) {
		m->name[i] = model_name(l[i].path);
		if (m->name[i] == NULL)
			return -1;
		cap += strlen(m->name[i]) + 64;
	}
	m->prompt = malloc(cap);
	if (m->prompt == NULL)
		return -1;
	len = (size_t)snprintf(m->prompt, cap, "%s", prompt);
	for (i = 0; i < nl; i++) {
		struct extra_info x;
		char *dir = strdup(l[i].path), *slash;

		snprintf(tag, sizeof(tag), "<lora:%s:", m->name[i]);
		if (strstr(prompt, tag) == NULL) {
			if (l[i].text == l[i].unet)
				k = snprintf(tag, sizeof(tag), " <lora:%s:%g>",
				    m->name[i], l[i].text);
			else
				k = snprintf(tag, sizeof(tag), " <lora:%s:%g:"
				    "%g>", m->name[i], l[i].text, l[i].unet);
			if (k > 0 && len + (size_t)k < cap) {
				memcpy(m->prompt + len, tag, (size_t)k + 1);
				len += (size_t)k;
			}
		}
		if (dir == NULL)
			return -1;
		slash = strrchr(dir, '/');
		if (slash != NULL)
			*slash = '\0';
		memset(&x, 0, sizeof(x));
		if (extra_load(slash != NULL ? dir : ".", EXTRA_LORA,
		    m->name[i], &x, e, sizeof(e)) == 0 && x.sshs_hash != NULL)
			snprintf(m->hash[i], sizeof(m->hash[i]), "%s",
			    x.sshs_hash);
		else if (file_sha256(l[i].path, HASH_ADDNET, m->hash[i], e,
		    sizeof(e)) != 0)
			m->hash[i][0] = '\0';
		extra_info_clear(&x);
		free(dir);
		for (k = 0; m->hash[i][k] != '\0'; k++)
			if (m->hash[i][k] >= 'A' && m->hash[i][k] <= 'F')
				m->hash[i][k] += 'a' - 'A';
		m->hash[i][HASH_SHORT_NET] = '\0';
		if (m->hash[i][0] != '\0') {
			m->list[m->n].name = m->name[i];
			m->list[m->n++].hash = m->hash[i];
		}
	}
	return 0;
}

/* The model's "Model hash" into o, once: the SHA-256 of a single file
 * (seconds for a checkpoint of gigabytes), none for a folder. */
static const char *
model_hash(struct ropts *o)
{
	struct stat sb;
	char e[512];

	if (!o->model_hashed) {
		o->model_hashed = 1;
		o->model_hash[0] = '\0';
		if (stat(o->model, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    file_sha256(o->model, HASH_FILE, o->model_hash, e,
		    sizeof(e)) == 0)
			o->model_hash[HASH_SHORT_MODEL] = '\0';
		else
			o->model_hash[0] = '\0';
	}
	return o->model_hash;
}

static int
progress(void *arg, const struct pipeline_step *s)
{
	const struct ropts *o = arg;

	if (o->verbose)
		fprintf(stderr, "kiln-render: image %d step %d/%d\n",
		    s->image + 1, s->step, s->steps);
	return 0;
}

static int
print_summary(const struct gen_result *r, char **names,
    const struct pipeline *p, const char *model)
{
	json_object *o = json_object_new_object(), *files, *seeds, *t, *mo,
	    *d;
	struct model_card *card = NULL;
	struct gen_params def;
	char e[512];
	const char *s;
	int i, rc = -1;

	if (o == NULL)
		return -1;
	files = json_object_new_array();
	seeds = json_object_new_array();
	t = json_object_new_object();
	json_object_object_add(o, "files", files);
	json_object_object_add(o, "seeds", seeds);
	json_object_object_add(o, "width", json_object_new_int(r->width));
	json_object_object_add(o, "height", json_object_new_int(r->height));
	json_object_object_add(o, "steps_run",
	    json_object_new_int(r->t.steps_run));
	json_object_object_add(o, "timings", t);
	json_object_object_add(o, "peak_bytes",
	    json_object_new_int64((int64_t)r->t.peak_held));
	if (files == NULL || seeds == NULL || t == NULL)
		goto out;
	for (i = 0; i < r->count; i++) {
		json_object_array_add(files, json_object_new_string(names[i]));
		json_object_array_add(seeds,
		    json_object_new_uint64(r->seeds[i]));
	}
	json_object_object_add(t, "load_s", json_object_new_double(r->t.load_s));
	json_object_object_add(t, "text_s", json_object_new_double(r->t.text_s));
	json_object_object_add(t, "init_s", json_object_new_double(r->t.init_s));
	json_object_object_add(t, "unet_s", json_object_new_double(r->t.unet_s));
	json_object_object_add(t, "unet_step_s",
	    json_object_new_double(r->t.unet_step_s));
	json_object_object_add(t, "vae_s", json_object_new_double(r->t.vae_s));
	json_object_object_add(t, "total_s",
	    json_object_new_double(r->t.total_s));
	/* What the model is, as /api/v1/models says it: its family (sd1,
	 * sd2, sdxl, unknown), native side and the defaults a render
	 * without flags takes. */
	if (model_card_load_path(model, &card, e, sizeof(e)) == 0) {
		pipeline_defaults(p, &def);
		mo = json_object_new_object();
		d = json_object_new_object();
		json_object_object_add(o, "model", mo);
		json_object_object_add(mo, "type", json_object_new_string(
		    sd_family_name(card->type)));
		json_object_object_add(mo, "native_size",
		    json_object_new_int(card->native_side));
		json_object_object_add(mo, "defaults", d);
		json_object_object_add(d, "width",
		    json_object_new_int(def.width));
		json_object_object_add(d, "height",
		    json_object_new_int(def.height));
		json_object_object_add(d, "steps",
		    json_object_new_int(def.steps));
		json_object_object_add(d, "cfg_scale",
		    json_object_new_double(def.cfg));
		json_object_object_add(d, "sampler", json_object_new_string(
		    sampler_name(def.sampler)));
		model_card_free(card);
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (s != NULL && printf("%s\n", s) >= 0 && fflush(stdout) == 0)
		rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* Renders gp into out (out-1.png ... for a batch) with the LoRAs
 * l[0..nl-1] merged and prints the summary line. Returns 0,
 * EXIT_CANCELED, 2 for a parameter (a LoRA) the model rejects, or 1. */
/* The hires upscaler as the parameters name it: kiln's builtin names, or
 * an upscaler file's name less its folder and .safetensors. */
static const char *
hires_name(const struct ropts *o, char *buf, size_t n)
{
	const char *s = o->hires_upscaler, *slash;

	if (s == NULL)
		return "latent";
	slash = strrchr(s, '/');
	snprintf(buf, n, "%s", slash != NULL ? slash + 1 : s);
	if (str_has_suffix(buf, ".safetensors"))
		buf[strlen(buf) - strlen(".safetensors")] = '\0';
	return buf;
}

static int
render_one(struct pipeline *p, struct ropts *o, const struct gen_params *base,
    const char *out, const struct lora_spec *l, int nl)
{
	struct gen_params run = *base, *gp = &run;
	struct gen_result res = {0};
	struct image_meta meta;
	struct lora_meta lm = {0};
	const char *both[2];
	char err[2048], **names = NULL, *params = NULL, *mname = NULL;
	char *stripped, uname[128];
	int i, st, grid, rc = 1, tirc;

	if (gen_params_check(gp, err, sizeof(err)) != 0) {
		/* Messages start with the field's name, the flag's too. */
		fprintf(stderr, "kiln-render: --%s\n", err);
		return 2;
	}
	grid = pipeline_grid(p);
	if (gp->width % grid != 0 || gp->height % grid != 0) {
		fprintf(stderr, "kiln-render: --%s: %d is not a multiple of %d, "
		    "which this model needs\n", gp->width % grid ? "width" :
		    "height", gp->width % grid ? gp->width : gp->height, grid);
		return 2;
	}
	if (pipeline_set_loras(p, l, nl, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: --lora: %s\n", err);
		return 2;
	}
	/* The embeddings this prompt (as the encoder sees it: without
	 * LoRA tags) and its negative name. */
	stripped = prompt_strip_extra_networks(gp->prompt);
	if (stripped == NULL) {
		fprintf(stderr, "kiln-render: out of memory\n");
		return 1;
	}
	both[0] = stripped;
	both[1] = gp->negative != NULL ? gp->negative : "";
	tirc = cli_ti_for(&o->ti, pipeline_tokenizer(p), both, 2,
	    &gp->embeddings, &gp->nembeddings, err, sizeof(err));
	free(stripped);
	if (tirc != 0) {
		fprintf(stderr, "kiln-render: %s\n", err);
		return 1;
	}
	if (o->verbose)
		fprintf(stderr, "kiln-render: seed %llu\n",
		    (unsigned long long)gp->seed);
	st = pipeline_generate(p, gp, progress, (void *)o, &res, err,
	    sizeof(err));
	if (st == PIPELINE_CANCELED)
		return EXIT_CANCELED;
	if (st != PIPELINE_DONE) {
		fprintf(stderr, "kiln-render: %s\n", err);
		return 1;
	}
	names = calloc((size_t)res.count, sizeof(*names));
	mname = model_name(o->model);
	if (names == NULL || mname == NULL ||
	    lora_meta_make(&lm, gp->prompt, l, nl) != 0) {
		fprintf(stderr, "kiln-render: out of memory\n");
		goto out;
	}
	for (i = 0; i < res.count; i++) {
		memset(&meta, 0, sizeof(meta));
		meta.prompt = lm.prompt;
		meta.negative = gp->negative;
		meta.steps = gp->steps;
		meta.sampler = sampler_name(gp->sampler);
		meta.cfg = gp->cfg;
		meta.seed = res.seeds[i];
		meta.width = res.width;
		meta.height = res.height;
		meta.model = mname;
		meta.denoise = gp->init_rgb != NULL ? gp->strength :
		    gp->hires_scale != 0.0 ? gp->hires_strength : 0;
		meta.hires_scale = gp->hires_scale;
		meta.hires_steps = gp->hires_steps;
		meta.hires_upscaler = hires_name(o, uname, sizeof(uname));
		meta.model_hash = model_hash(o);
		meta.loras = lm.list;
		meta.nloras = lm.n;
		names[i] = out_name(out, i);
		free(params);
		params = NULL;
		if (names[i] == NULL ||
		    image_parameters_text(&meta, &params) != 0) {
			fprintf(stderr, "kiln-render: out of memory\n");
			goto out;
		}
		if (image_write_png(names[i], res.width, res.height,
		    res.rgb + (size_t)i * (size_t)res.width *
		    (size_t)res.height * 3, params, err, sizeof(err)) != 0) {
			fprintf(stderr, "kiln-render: -o: %s\n", err);
			goto out;
		}
	}
	if (o->verbose)
		fprintf(stderr, "kiln-render: load %.3f s, text %.3f s, "
		    "init %.3f s, unet %.3f s (%d steps, %.4f s per "
		    "evaluation), vae %.3f s, total %.3f s\n", res.t.load_s,
		    res.t.text_s, res.t.init_s, res.t.unet_s, res.t.steps_run,
		    res.t.unet_step_s, res.t.vae_s, res.t.total_s);
	if (print_summary(&res, names, p, o->model) != 0) {
		fprintf(stderr, "kiln-render: cannot write the summary\n");
		goto out;
	}
	rc = 0;
out:
	if (names != NULL)
		for (i = 0; i < res.count; i++)
			free(names[i]);
	free(names);
	free(params);
	free(mname);
	lora_meta_free(&lm);
	gen_result_free(&res);
	return rc;
}

/* A string member of a --prompts line, or NULL when absent. Returns -1
 * (after a message naming the line and key) when it is not a string. */
static int
line_str(json_object *o, const char *key, const char *file, long line,
    const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		fprintf(stderr, "kiln-render: %s:%ld: %s: not a string\n",
		    file, line, key);
		return -1;
	}
	*out = json_object_get_string(v);
	return 0;
}

/* --prompts: one render per line, the model loaded once. */
static int
render_list(struct pipeline *p, struct ropts *o,
    const struct gen_params *base)
{
	/* One render each: its parameters, and the parsed line that owns
	 * their strings. */
	struct entry {
		json_object *obj;
		struct gen_params gp;
		const char *out;
		/* The line's "loras", or (has 0) the --lora set. */
		int has;
		struct lora_spec l[CLI_LORAS_MAX];
		int nl;
	} *items = NULL;
	FILE *f = fopen(o->prompts, "r");
	size_t n = 0, cap = 0, len = 0, k;
	char *buf = NULL;
	ssize_t got;
	long line = 0;
	int rc = 2;

	if (f == NULL) {
		fprintf(stderr, "kiln-render: --prompts: %s: %s\n", o->prompts,
		    strerror(errno));
		return 2;
	}
	while ((got = getline(&buf, &len, f)) >= 0) {
		json_object *obj, *v;
		struct entry *e;
		const char *neg;

		line++;
		if (strspn(buf, " \t\r\n") == (size_t)got)
			continue;
		obj = json_tokener_parse(buf);
		if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
			json_object_put(obj);
			fprintf(stderr, "kiln-render: %s:%ld: not a JSON "
			    "object\n", o->prompts, line);
			goto out;
		}
		if (n == cap) {
			struct entry *t = realloc(items, (cap ? cap * 2 : 64) *
			    sizeof(*t));

			if (t == NULL) {
				json_object_put(obj);
				fprintf(stderr, "kiln-render: out of memory\n");
				goto out;
			}
			items = t;
			cap = cap ? cap * 2 : 64;
		}
		e = &items[n];
		memset(e, 0, sizeof(*e));
		e->obj = obj;
		e->gp = *base;
		/* Without a seed of its own, entry k takes the run's seed + k,
		 * as the images of a batch do. */
		e->gp.seed = base->seed + n;
		n++;
		if (line_str(obj, "prompt", o->prompts, line, &e->gp.prompt) ||
		    line_str(obj, "out", o->prompts, line, &e->out) ||
		    line_str(obj, "negative", o->prompts, line, &neg))
			goto out;
		if (e->gp.prompt == NULL || e->out == NULL) {
			fprintf(stderr, "kiln-render: %s:%ld: %s is required\n",
			    o->prompts, line, e->gp.prompt == NULL ? "prompt" :
			    "out");
			goto out;
		}
		if (neg != NULL)
			e->gp.negative = neg;
		if (json_object_object_get_ex(obj, "seed", &v)) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < 0) {
				fprintf(stderr, "kiln-render: %s:%ld: seed: not "
				    "an unsigned integer\n", o->prompts, line);
				goto out;
			}
			e->gp.seed = (uint64_t)json_object_get_int64(v);
		}
		if (json_object_object_get_ex(obj, "loras", &v)) {
			size_t j;

			e->has = 1;
			if (!json_object_is_type(v, json_type_array)) {
				fprintf(stderr, "kiln-render: %s:%ld: loras: not "
				    "a list of \"FILE:WEIGHT\"\n", o->prompts,
				    line);
				goto out;
			}
			for (j = 0; j < json_object_array_length(v); j++) {
				json_object *x = json_object_array_get_idx(v, j);

				if (!json_object_is_type(x, json_type_string)) {
					fprintf(stderr, "kiln-render: %s:%ld: "
					    "loras[%zu]: not a string\n",
					    o->prompts, line, j);
					goto out;
				}
				if (cli_lora_arg("render", json_object_get_string(
				    x), e->l, &e->nl) != 0)
					goto out;
			}
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "kiln-render: --prompts: %s: read error\n",
		    o->prompts);
		goto out;
	}
	/* Every line was checked before the first render, so a typo on line
	 * 90 does not cost the 89 renders before it. */
	rc = 0;
	for (k = 0; k < n && rc == 0; k++)
		rc = render_one(p, o, &items[k].gp, items[k].out,
		    items[k].has ? items[k].l : o->loras,
		    items[k].has ? items[k].nl : o->nloras);
out:
	for (k = 0; k < n; k++) {
		json_object_put(items[k].obj);
		cli_loras_free(items[k].l, items[k].nl);
	}
	free(items);
	free(buf);
	fclose(f);
	return rc;
}

/* The command after its options were read into *o-> */
static int
render_main(int argc, char **argv, struct ropts *o)
{
	struct gen_params gp, base;
	struct kiln_rt *rt = NULL;
	struct pipeline *p = NULL;
	struct gen_inputs in;
	struct upscaler *up = NULL;
	enum gen_hires_mode builtin;
	char err[2048];
	int st, rc = 1;

	memset(&in, 0, sizeof(in));
	st = parse_opts(argc, argv, o);
	if (st != 0) {
		if (st < 0)
			usage(stderr);
		return st < 0 ? 2 : 0;
	}
	/* Checked against the engine's defaults first, so a bad flag fails
	 * before the model loads; then again over the model's. */
	gen_params_default(&base);
	if (to_params(o, &base, &gp) != 0)
		return 2;
	if (cli_controls_load(&o->controls, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: %s\n", err);
		return 2;
	}
	gp.controls = o->controls.c;
	gp.ncontrols = o->controls.n;
	if (gen_params_check(&gp, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: --%s\n", err);
		return 2;
	}
	if (o->init != NULL && image_load_rgb(o->init, &in.w, &in.h, &in.init,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: --init: %s\n", err);
		return 2;
	}
	if (o->mask != NULL) {
		uint8_t *rgb = NULL;
		int mw, mh;

		if (image_load_rgb(o->mask, &mw, &mh, &rgb, err,
		    sizeof(err)) != 0 || gen_inputs_set_mask(&in, rgb, mw, mh,
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "kiln-render: --mask: %s\n", err);
			free(rgb);
			gen_inputs_free(&in);
			return 2;
		}
		free(rgb);
	}
	memcpy(in.outpaint, o->outpaint, sizeof(in.outpaint));
	in.invert = o->invert_mask;
	if (o->resize_mode != NULL) {
		long m;

		if (parse_long(o->resize_mode, 0, 2, &m) != 0) {
			bad("--resize-mode", o->resize_mode, "0, 1 or 2");
			gen_inputs_free(&in);
			return 2;
		}
		in.resize = (enum gen_resize)m;
	}
	/* The --embedding files before the model: a bad one loads
	 * nothing. */
	if (cli_ti_load(&o->ti, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: %s\n", err);
		goto out;
	}
	if (cli_rt_open(&rt, o->device, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: --device: %s\n", err);
		goto out;
	}
	if (o->verbose)
		rt->profile = 1;
	if (pipeline_open(rt, o->model, o->vocab, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: --model: %s\n", err);
		goto out;
	}
	pipeline_defaults(p, &base);
	if (to_params(o, &base, &gp) != 0) {
		rc = 2;
		goto out;
	}
	/* An upscaler that is not one of kiln's own is a file (to_params
	 * checked the name). */
	if (o->hires_upscaler != NULL &&
	    gen_hires_lookup(o->hires_upscaler, &builtin) != 0) {
		if (upscaler_load(rt, o->hires_upscaler, &up, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "kiln-render: --hires-upscaler: %s\n",
			    err);
			goto out;
		}
		gp.hires_upscaler = up;
	}
	/* The canvas of an outpaint, the mask inverted, the init fitted by
	 * --resize-mode: as kilnd readies a job's images. */
	if (gen_inputs_apply(&in, pipeline_grid(p), o->width != NULL,
	    o->height != NULL, &gp, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: --%s\n", err);
		rc = 2;
		goto out;
	}
	gp.controls = o->controls.c;
	gp.ncontrols = o->controls.n;
	if (o->verbose)
		fprintf(stderr, "kiln-render: device %s; vocabulary %s; "
		    "prediction %s\n", rt->device_name, pipeline_vocab(p),
		    pipeline_prediction(p) == PRED_V ? "v" : "eps");
	rc = o->prompts != NULL ? render_list(p, o, &gp) :
	    render_one(p, o, &gp, o->out, o->loras, o->nloras);
	if (o->verbose) {
		fprintf(stderr, "kiln-render: peak %.1f MiB held, %.1f MiB "
		    "live\n", rt->peak_held / 1048576.0,
		    rt->peak_live / 1048576.0);
		rt_prof_report(rt, stderr);
	}
out:
	upscaler_free(up);
	pipeline_free(p);
	rt_free(rt);
	gen_inputs_free(&in);
	return rc;
}

int
cmd_render(int argc, char **argv)
{
	struct ropts o;
	int rc;

	rc = render_main(argc, argv, &o);
	cli_ti_free(&o.ti);
	cli_loras_free(o.loras, o.nloras);
	cli_controls_free(&o.controls);
	return rc;
}
