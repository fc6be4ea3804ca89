/* cmd_lora.c - kiln-render lora-targets: which weight of a model each
 * module of a LoRA patches, and with what scale, without a device: for
 * checking a LoRA against a checkpoint by hand and for the tests of the
 * name mapping. */
#include "commands.h"
#include "lora.h"
#include "safetensors.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: kiln-render lora-targets --model PATH "
		"--lora FILE[:WEIGHT[:UNET_WEIGHT]] ...\n"
		"One JSON object per module of each LoRA: its key and format, "
		"the model's\npart and canonical weight it patches, the file "
		"tensor holding that weight\n(rows of it for a packed q, k, "
		"v), the rank and the scale (weight * alpha / rank).\nExit 1 "
		"with the reason when a LoRA does not fit the model.\n");
}

/* Prints one target as a JSON line. Returns 0, or -1. */
static int
print_target(const char *file, const struct lora_target *t)
{
	json_object *o = json_object_new_object(), *rows = NULL;
	const char *s;
	int rc = -1;

	if (o == NULL)
		return -1;
	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "key", json_object_new_string(t->md->key));
	json_object_object_add(o, "format", json_object_new_string(
	    t->md->format == LORA_PEFT ? "peft" : "kohya"));
	json_object_object_add(o, "part", json_object_new_string(
	    lora_component(t->part)));
	json_object_object_add(o, "weight", json_object_new_string(
	    t->e->name));
	json_object_object_add(o, "tensor", json_object_new_string(
	    t->e->t->name));
	if (t->e->rows > 0) {
		rows = json_object_new_array();
		json_object_array_add(rows, json_object_new_int64(t->e->row0));
		json_object_array_add(rows, json_object_new_int64(t->e->row0 +
		    t->e->rows));
	}
	json_object_object_add(o, "rows", rows);
	json_object_object_add(o, "transposed",
	    json_object_new_boolean(t->e->transposed));
	json_object_object_add(o, "rank", json_object_new_int64(t->md->rank));
	json_object_object_add(o, "scale", json_object_new_double(t->scale));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (s != NULL && printf("%s\n", s) >= 0)
		rc = 0;
	json_object_put(o);
	return rc;
}

int
cmd_lora_targets(int argc, char **argv)
{
	struct lora_spec loras[CLI_LORAS_MAX];
	struct lora_index *ix = NULL;
	struct lora_net *net = NULL;
	struct lora_target *t = NULL;
	struct st_model *m = NULL;
	const char *model = NULL;
	char err[2048];
	size_t nt, k;
	int i, nloras = 0, rc = 1;

	for (i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--model"))
			model = argv[i + 1];
		else if (!strcmp(argv[i], "--lora")) {
			if (cli_lora_arg("lora-targets", argv[i + 1], loras,
			    &nloras) != 0) {
				rc = 2;
				goto out;
			}
		} else
			break;
	}
	if (i != argc || model == NULL || nloras == 0) {
		usage(stderr);
		rc = 2;
		goto out;
	}
	m = st_model_open(model, err, sizeof(err));
	if (m == NULL || lora_index_new(m, &ix, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render lora-targets: %s\n", err);
		goto out;
	}
	for (i = 0; i < nloras; i++) {
		if (lora_net_open(loras[i].path, &net, err, sizeof(err)) != 0 ||
		    lora_resolve(ix, net, loras[i].text, loras[i].unet, &t,
		    &nt, err, sizeof(err)) != 0) {
			fprintf(stderr, "kiln-render lora-targets: %s\n", err);
			goto out;
		}
		for (k = 0; k < nt; k++)
			if (print_target(loras[i].path, &t[k]) != 0) {
				fprintf(stderr, "kiln-render lora-targets: "
				    "cannot write the list\n");
				goto out;
			}
		free(t);
		t = NULL;
		lora_net_free(net);
		net = NULL;
	}
	if (fflush(stdout) != 0)
		goto out;
	rc = 0;
out:
	free(t);
	lora_net_free(net);
	lora_index_free(ix);
	st_model_close(m);
	cli_loras_free(loras, nloras);
	return rc;
}
