/* loras.h - the LoRAs a job applies: AUTOMATIC1111's <lora:NAME:WEIGHT>
 * prompt tags and kiln's own list (the JSON "loras" field, a form's
 * "name:weight, ..." text), parsed once at submission, stored on the job
 * as JSON and read back by the render daemon. The prompt keeps its tags
 * as typed, as A1111's infotext does. */
#ifndef KILN_LORAS_H
#define KILN_LORAS_H

#include <stddef.h>

struct json_object;

#define JOB_LORAS_MAX 8
/* A1111 takes any number; kiln keeps to what a person means: a
 * negative weight (inverting a LoRA) is as valid as a strong one. */
#define LORA_WEIGHT_MAX 10.0

enum lora_source { LORA_FROM_FIELD, LORA_FROM_PROMPT };

struct job_lora {
	char name[65];		/* a name model_name_ok takes */
	/* The multipliers: weight for the text encoders (A1111's "te")
	 * and, unless unet_weight says otherwise, the UNet. */
	double weight, unet_weight;
	enum lora_source source;
};

/*
 * Finds AUTOMATIC1111's extra-network tags in prompt, as its regular
 * expression <(\w+):([^>]+)> does, and appends each <lora:...> (and
 * <lyco:...>, its alias) to out[*n], at most max in all. A tag's
 * arguments are split at ':': the first positional one is the name, the
 * second the weight (default 1), the third the UNet's weight (default
 * the weight); te=W and unet=W name them. Other tags (<hypernet:...>
 * aside, which kiln refuses) are left to the engine, as A1111 skips
 * unknown networks. Returns 0, or -1 with a message quoting the tag in
 * err: a bad name or weight, a dynamic rank (dyn), too many.
 */
int lora_tags_parse(const char *prompt, struct job_lora *out, int max,
	int *n, char *err, size_t errlen);

/* A form's list: "name", "name:weight" or "name:weight:unet_weight",
 * separated by commas (spaces around them ignored), appended as
 * lora_tags_parse does. Returns 0, or -1 with a message in err. */
int lora_list_parse(const char *text, struct job_lora *out, int max, int *n,
	char *err, size_t errlen);

/* The JSON "loras" field: an array of {"name", "weight", "unet_weight"}
 * (weights optional, plain decimals from -10 to 10), appended to out.
 * Each problem goes to bad(arg, field, msg) with the field named
 * ("loras[1].weight"). Returns the number of problems. */
int lora_json_parse(struct json_object *a, struct job_lora *out, int max,
	int *n, void (*bad)(void *arg, const char *field, const char *msg),
	void *arg);

/* The stored form: a JSON array of {"name", "weight", "unet_weight",
 * "source"} as text (the caller frees it), or NULL for none. */
char *loras_to_text(const struct job_lora *l, int n);

/* The stored form read back into out (at most max). Returns 0, or -1
 * when text is not what loras_to_text writes. */
int loras_from_text(const char *text, struct job_lora *out, int max,
	int *n);

/* A weight as JSON and infotexts write it: the shortest decimal that
 * reads back as the same double ("0.8", not 0.80000000000000004). */
void lora_weight_text(double w, char *out, size_t outlen);

#endif
