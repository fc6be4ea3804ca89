/* kiln-render.c - the engine's command line: one table of subcommands, each
 * in its own cmd_*.c file. */
#include "commands.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "render", cmd_render, "[--model PATH] --prompt TEXT -o OUT.png "
		"[...]: generate images (also without the word render; "
		"without --model, kiln-micro)" },
	{ "devices", cmd_devices, "list OpenCL platforms and devices" },
	{ "tokenize", cmd_tokenize, "--vocab PATH TEXT: CLIP token ids as "
		"JSON" },
	{ "encode-text", cmd_encode_text, "--model PATH (--ids ...|--prompt "
		"TEXT --vocab PATH) --out FILE [--pooled FILE]: the text "
		"conditioning (SDXL: both encoders, pooled)" },
	{ "unet", cmd_unet, "--model PATH --in ... --ctx ... --t ...: one "
		"UNet evaluation" },
	{ "vae-decode", cmd_vae_decode, "--model PATH --in SHAPE=FILE --out "
		"FILE [--tile N | --budget BYTES]: VAE decode of raw float32 "
		"latents" },
	{ "vae-encode", cmd_vae_encode, "--model PATH --in SHAPE=FILE --out "
		"FILE [--tile N | --budget BYTES]: VAE encode of a raw float32 "
		"image (latent mean)" },
	{ "upscale", cmd_upscale, "--in IMG --scale S [--upscaler FILE] "
		"-o OUT.png: a larger image, by an RRDBNet or SRVGGNet model "
		"and Lanczos, or Lanczos alone" },
	{ "op", cmd_op, "run one engine operator on raw float32 files "
		"(tests)" },
	{ "tune", cmd_tune, "[--budget S] [--shapes ...]: search CLBlast's "
		"GEMM parameters, write the device's tuning file" },
	{ "bench-gemm", cmd_bench_gemm, "[--shapes ...] [--repeat N] "
		"[--json]: GEMM GFLOP/s, and whether tuning is applied" },
	{ "bench-attention", cmd_bench_attention, "[--shapes ...] [--impl "
		"auto|fused|blocked] [--repeat N] [--json]: attention GFLOP/s "
		"on SD's shapes" },
	{ "sample-test", cmd_sample, "--sampler NAME --steps N --seed S "
		"--shape 1x4x8x8 --out FILE: a sampler on a synthetic model "
		"(tests)" },
	{ "lora-targets", cmd_lora_targets, "--model PATH --lora FILE ...: "
		"the weight each module of a LoRA patches (no device)" },
	{ "st-dump", cmd_st_dump, "FILE [TENSOR]: list a safetensors file or "
		"print one tensor" },
	{ "mask", cmd_mask, "--in MASK.png [--blur 4] -o OUT.png: an "
		"inpainting mask as the engine blurs it (no device)" },
	{ "canny", cmd_canny, "--in IMAGE [--low L] [--high H] -o OUT.png: "
		"the edge map of ControlNet's canny preprocessor" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: kiln-render COMMAND [options]\n\ncommands:\n");
	for (i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("kiln-render %s\n", KILN_VERSION);
		return 0;
	}
	/* "kiln-render --model M --prompt P -o out.png": options first
	 * mean the render command. */
	if (!strncmp(argv[1], "--", 2) || !strcmp(argv[1], "-o"))
		return cmd_render(argc - 1, argv + 1);
	for (i = 0; i < ARRAY_LEN(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 2, argv + 2);
	fprintf(stderr, "kiln-render: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
