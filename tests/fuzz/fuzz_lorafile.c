/* fuzz_lorafile.c - libFuzzer harness: any bytes given to the LoRA
 * reader either read as a LoRA (every module with both factors of
 * consistent ranks, a finite alpha) or fail with a message naming the
 * file; a LoRA that reads resolves against a small model's index to
 * targets whose shapes fit, or fails with a message. */
#include "fuzz.h"
#include "lora.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A single-file model with one UNet 1x1 projection, one 3x3 resnet
 * convolution and one text-encoder projection, all zeros: the index the
 * inputs resolve against. */
static const struct {
	const char *name;
	int ndim;
	int64_t shape[4];
} model_tensors[] = {
	{ "cond_stage_model.transformer.text_model.encoder.layers.0."
	    "self_attn.q_proj.weight", 2, { 4, 4 } },
	{ "model.diffusion_model.input_blocks.1.0.in_layers.2.weight", 4,
	    { 4, 4, 3, 3 } },
	{ "model.diffusion_model.input_blocks.1.1.proj_in.weight", 4,
	    { 4, 4, 1, 1 } },
};

static unsigned char model_buf[4096];
static struct st_model *model;
static struct lora_index *ix;

static void
make_model(void)
{
	char header[2048], *p = header, err[256];
	size_t off = 0, n, len, i, hl;
	int k;

	p += sprintf(p, "{");
	for (i = 0; i < sizeof(model_tensors) / sizeof(model_tensors[0]);
	    i++) {
		n = 4;
		p += sprintf(p, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[",
		    i ? "," : "", model_tensors[i].name);
		for (k = 0; k < model_tensors[i].ndim; k++) {
			p += sprintf(p, "%s%lld", k ? "," : "",
			    (long long)model_tensors[i].shape[k]);
			n *= (size_t)model_tensors[i].shape[k];
		}
		p += sprintf(p, "],\"data_offsets\":[%zu,%zu]}", off, off + n);
		off += n;
	}
	p += sprintf(p, "}");
	hl = (size_t)(p - header);
	len = 8 + hl + off;
	CHECK(len <= sizeof(model_buf));
	for (k = 0; k < 8; k++)
		model_buf[k] = (unsigned char)(hl >> (8 * k));
	memcpy(model_buf + 8, header, hl);
	model = st_model_open_mem(model_buf, len, "model.safetensors", err,
	    sizeof(err));
	if (model == NULL)
		fprintf(stderr, "fuzz_lorafile: the model: %s\n", err);
	CHECK(model != NULL);
	CHECK(lora_index_new(model, &ix, err, sizeof(err)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct lora_module *md;
	struct lora_target *t = NULL;
	struct lora_net *net = NULL;
	struct st_file *f;
	char err[1024] = "";
	size_t i, nt;
	double s;

	if (model == NULL)
		make_model();
	f = st_open_mem(data, size, "fuzz-lora.safetensors", err, sizeof(err));
	if (f == NULL) {
		CHECK(strlen(err) > 0);
		return 0;
	}
	if (lora_net_from_file(f, &net, err, sizeof(err)) != 0) {
		CHECK(net == NULL);
		CHECK(strstr(err, "fuzz-lora.safetensors") != NULL ||
		    strstr(err, "out of memory") != NULL);
		return 0;
	}
	CHECK(lora_net_count(net) > 0);
	for (i = 0; i < lora_net_count(net); i++) {
		md = lora_net_module(net, i);
		CHECK(md->down != NULL && md->up != NULL);
		CHECK(md->rank >= 1 && md->down->shape[0] == md->rank);
		CHECK(md->up->shape[1] == md->rank && md->out ==
		    md->up->shape[0]);
		CHECK((size_t)(md->rank * md->in) == md->down->nelems);
		CHECK(!md->has_alpha || isfinite(md->alpha));
		CHECK(i == 0 || strcmp(lora_net_module(net, i - 1)->key,
		    md->key) < 0);
		s = lora_module_scale(net, md, "unet",
		    "down_blocks.0.attentions.0.proj_in");
		(void)s;
	}
	err[0] = '\0';
	if (lora_resolve(ix, net, 0.5, -1.0, &t, &nt, err, sizeof(err)) == 0) {
		CHECK(nt == lora_net_count(net));
		for (i = 0; i < nt; i++) {
			CHECK(t[i].e != NULL && t[i].md != NULL);
			CHECK(t[i].md->out == t[i].e->shape[0]);
			CHECK((size_t)(t[i].md->out * t[i].md->in) ==
			    t[i].e->nelems);
		}
		free(t);
	} else {
		CHECK(t == NULL && strlen(err) > 0);
	}
	lora_net_free(net);
	return 0;
}
