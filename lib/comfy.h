/* comfy.h - ComfyUI's API-format workflows ({node_id: {"class_type",
 * "inputs"}}) read as one kiln job: the graph is walked back from its
 * output nodes (SaveImage, PreviewImage) through the standard nodes, and
 * what it renders becomes the body of POST /api/v1/jobs. A graph kiln
 * cannot render as one job, or a node it has no counterpart for, is an
 * error naming the node, in ComfyUI's own terms. Pure: no I/O. */
#ifndef KILN_COMFY_H
#define KILN_COMFY_H

#include <stddef.h>

struct json_object;

#define COMFY_MAX_NODES 512	/* nodes of one prompt */
#define COMFY_MAX_OUTPUTS 16	/* SaveImage/PreviewImage nodes */
#define COMFY_ID_MAX 64		/* bytes of a node id */
#define COMFY_CHAIN_MAX 64	/* links followed from one node */

/* The images a graph loads (LoadImage, LoadImageMask) by their upload
 * names, and what each becomes. */
enum comfy_image { COMFY_IMG_INIT, COMFY_IMG_MASK, COMFY_IMG_CONTROL,
	COMFY_NIMG };

/* Where a kiln job field came from: the node and its input, so that a
 * refusal of the field by kiln's own checks names them. */
struct comfy_origin {
	char field[32];			/* kiln's name ("model", "loras[1]") */
	char node[COMFY_ID_MAX];
	char class_type[48];
	char input[32];
};

#define COMFY_MAX_ORIGINS 32

struct comfy_plan {
	struct json_object *job;	/* POST /api/v1/jobs' body, images
					 * left out */
	char *image[COMFY_NIMG];	/* upload names (NULL: none) */
	int mask_channel;		/* LoadImageMask: 0 red, 1 green,
					 * 2 blue */
	char image_node[COMFY_NIMG][COMFY_ID_MAX];
	char outputs[COMFY_MAX_OUTPUTS][COMFY_ID_MAX];
	int noutputs;
	struct comfy_origin origin[COMFY_MAX_ORIGINS];
	int norigins;
};

/* One refusal, as ComfyUI's validate_prompt words it: type
 * ("invalid_prompt", "prompt_no_outputs", "required_input_missing",
 * "value_not_in_list", "bad_linked_input", ...), the node it concerns
 * (node "" for the whole prompt) and the input. */
struct comfy_error {
	char type[48];
	char message[160];
	char details[512];
	char node[COMFY_ID_MAX];
	char class_type[48];
	char input[32];
};

/* What the translation needs to know of kiln's files: the scale of an
 * upscaler by name (0: no such usable upscaler). NULL callback: model
 * upscalers are refused. */
struct comfy_env {
	int (*upscaler_scale)(void *arg, const char *name);
	void *arg;
};

/*
 * Reads prompt (the "prompt" member of POST /prompt) into *p. Returns 0
 * with p->job (free the plan with comfy_plan_free either way), or 1 with
 * the refusal in *e, or -1 when memory runs out.
 */
int comfy_translate(struct json_object *prompt, const struct comfy_env *env,
	struct comfy_plan *p, struct comfy_error *e);

void comfy_plan_free(struct comfy_plan *p);

/* The origin of kiln field in p, or NULL. */
const struct comfy_origin *comfy_origin_of(const struct comfy_plan *p,
	const char *field);

/* ComfyUI's answer to a refused prompt: {"error": {type, message,
 * details, extra_info}, "node_errors": {node: {"errors": [...],
 * "dependent_outputs": [...], "class_type"}}}; errors[0..n-1] all go
 * into it, outputs are the prompt's output nodes (may be NULL). Returns
 * a new object, or NULL when memory runs out. */
struct json_object *comfy_error_json(const struct comfy_error *errors,
	int n, const struct comfy_plan *p);

/* The names kiln offers in object_info's combo inputs. */
struct comfy_lists {
	const char *const *checkpoints, *const *loras, *const *controlnets,
		*const *upscalers, *const *images;
	int ncheckpoints, nloras, ncontrolnets, nupscalers, nimages;
};

/* The node classes kiln takes, in order; comfy_nclasses of them. */
extern const char *const comfy_classes[];
extern const size_t comfy_nclasses;

/* ComfyUI's GET /object_info entry for class (its INPUT_TYPES, outputs,
 * names), the combos filled from l, or NULL when kiln does not take the
 * class or memory runs out. */
struct json_object *comfy_node_info(const char *class_type,
	const struct comfy_lists *l);

/* ComfyUI's sampler_name + scheduler as a kiln sampler, or NULL when
 * kiln has no such pair. */
const char *comfy_sampler(const char *sampler_name, const char *scheduler);

/* "x.safetensors" -> "x" (a fresh string); a name with another ending
 * or a folder is kept as it is, for kiln's checks to refuse. */
char *comfy_strip_ext(const char *file);

#endif
