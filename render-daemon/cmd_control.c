/* cmd_control.c - ControlNet on the command line: kiln-render canny (the
 * edge map the canny preprocessor makes of an image, the same as
 * OpenCV's cv2.Canny on it, to see what a render will follow), and
 * render's --controlnet / --control-preprocessor options. */
#include "canny.h"
#include "commands.h"
#include "image.h"
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: kiln-render canny --in IMAGE [--low 100] "
		"[--high 200] [--gray] -o OUT.png\n"
		"  edges of the RGB image as cv2.Canny(img, low, high) finds "
		"them (--gray:\n  of its BT.601 grey levels instead, as "
		"cv2.cvtColor(img, COLOR_RGB2GRAY))\n");
}

int
cmd_canny(int argc, char **argv)
{
	const char *in = NULL, *outp = NULL;
	double low = 100, high = 200;
	uint8_t *rgb = NULL, *src = NULL, *edges = NULL, *pix = NULL;
	char err[512], *end;
	int i, w, h, gray = 0, rc = 1;
	size_t n, k;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--gray")) {
			gray = 1;
			continue;
		}
		if (i + 1 == argc)
			break;
		if (!strcmp(argv[i], "--in"))
			in = argv[++i];
		else if (!strcmp(argv[i], "-o"))
			outp = argv[++i];
		else if (!strcmp(argv[i], "--low") ||
		    !strcmp(argv[i], "--high")) {
			double v = strtod(argv[i + 1], &end);

			if (end == argv[i + 1] || *end != '\0')
				break;
			*(argv[i][2] == 'l' ? &low : &high) = v;
			i++;
		} else
			break;
	}
	if (i != argc || in == NULL || outp == NULL) {
		usage(stderr);
		return 2;
	}
	if (image_load_rgb(in, &w, &h, &rgb, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render canny: %s\n", err);
		return 1;
	}
	n = (size_t)w * (size_t)h;
	edges = malloc(n);
	pix = malloc(3 * n);
	src = gray ? malloc(n) : rgb;
	if (edges == NULL || pix == NULL || src == NULL) {
		fprintf(stderr, "kiln-render canny: out of memory\n");
		goto out;
	}
	/* OpenCV 4's RGB2GRAY on 8 bits: BT.601 weights in 15-bit fixed
	 * point, rounded (its 14-bit table gives other grey levels on
	 * about 1 pixel in 1000). */
	for (k = 0; gray && k < n; k++)
		src[k] = (uint8_t)((rgb[3 * k] * 9798 + rgb[3 * k + 1] * 19235 +
			rgb[3 * k + 2] * 3735 + (1 << 14)) >> 15);
	if (canny_edges(src, w, h, gray ? 1 : 3, low, high, edges, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render canny: %s\n", err);
		goto out;
	}
	for (k = 0; k < n; k++)
		pix[3 * k] = pix[3 * k + 1] = pix[3 * k + 2] = edges[k];
	if (image_write_png(outp, w, h, pix, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render canny: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	if (src != rgb)
		free(src);
	free(rgb);
	free(edges);
	free(pix);
	return rc;
}

/* --controlnet FILE:IMAGE:WEIGHT[:START:END]. */
static int
control_arg(struct cli_controls *cc, const char *val)
{
	struct gen_control *g;
	char *f[5], *s, *end;
	double v[3] = { 1.0, 0.0, 1.0 };
	int n = 0, k;

	if (cc->n == CLI_CONTROLS_MAX) {
		fprintf(stderr, "kiln-render: --controlnet: at most %d\n",
		    CLI_CONTROLS_MAX);
		return -1;
	}
	s = strdup(val);
	if (s == NULL)
		return -1;
	/* Fields split at every ':' (paths holding one cannot be given). */
	for (f[n++] = s; n <= 5 && (end = strchr(f[n - 1], ':')) != NULL;) {
		*end = '\0';
		if (n < 5)
			f[n] = end + 1;
		n++;
	}
	if ((n != 3 && n != 5) || f[0][0] == '\0' || f[1][0] == '\0') {
		fprintf(stderr, "kiln-render: --controlnet %s: not "
		    "FILE:IMAGE:WEIGHT[:START:END]\n", val);
		free(s);
		return -1;
	}
	for (k = 2; k < n; k++) {
		v[k - 2] = strtod(f[k], &end);
		if (end == f[k] || *end != '\0') {
			fprintf(stderr, "kiln-render: --controlnet %s: '%s' is "
			    "not a number\n", val, f[k]);
			free(s);
			return -1;
		}
	}
	g = &cc->c[cc->n];
	memset(g, 0, sizeof(*g));
	cc->buf[cc->n] = s;
	g->path = f[0];
	cc->image[cc->n] = f[1];
	g->weight = v[0];
	g->start = v[1];
	g->end = v[2];
	g->pre = GEN_PRE_NONE;
	cc->n++;
	return 0;
}

/* --control-preprocessor none|canny[:LOW:HIGH], for the --controlnet
 * before it. */
static int
preprocessor_arg(struct cli_controls *cc, const char *val)
{
	struct gen_control *g = cc->n > 0 ? &cc->c[cc->n - 1] : NULL;
	double lo = 100, hi = 200;
	char *end;

	if (g == NULL) {
		fprintf(stderr, "kiln-render: --control-preprocessor: after "
		    "the --controlnet it is for\n");
		return -1;
	}
	if (!strcmp(val, "none")) {
		g->pre = GEN_PRE_NONE;
		return 0;
	}
	if (strncmp(val, "canny", 5) == 0 && (val[5] == '\0' ||
	    val[5] == ':')) {
		if (val[5] == ':') {
			lo = strtod(val + 6, &end);
			if (end == val + 6 || *end != ':' ||
			    (hi = strtod(end + 1, &end), *end != '\0')) {
				fprintf(stderr, "kiln-render: "
				    "--control-preprocessor %s: not "
				    "canny:LOW:HIGH\n", val);
				return -1;
			}
		}
		g->pre = GEN_PRE_CANNY;
		g->low = lo;
		g->high = hi;
		return 0;
	}
	fprintf(stderr, "kiln-render: --control-preprocessor %s: none or "
	    "canny[:LOW:HIGH]\n", val);
	return -1;
}

int
cli_control_arg(struct cli_controls *cc, const char *opt, const char *val)
{
	if (!strcmp(opt, "--controlnet"))
		return control_arg(cc, val) == 0 ? 1 : -1;
	if (!strcmp(opt, "--control-preprocessor"))
		return preprocessor_arg(cc, val) == 0 ? 1 : -1;
	return 0;
}

int
cli_controls_load(struct cli_controls *cc, char *err, size_t errlen)
{
	char e2[512];
	int i;

	for (i = 0; i < cc->n; i++) {
		if (cc->c[i].rgb != NULL)
			continue;
		if (image_load_rgb(cc->image[i], &cc->c[i].w, &cc->c[i].h,
		    &cc->rgb[i], e2, sizeof(e2)) != 0) {
			snprintf(err, errlen, "--controlnet %s: %s",
			    cc->c[i].path, e2);
			return -1;
		}
		cc->c[i].rgb = cc->rgb[i];
	}
	return 0;
}

void
cli_controls_free(struct cli_controls *cc)
{
	int i;

	for (i = 0; i < cc->n; i++) {
		free(cc->buf[i]);
		free(cc->rgb[i]);
	}
	memset(cc, 0, sizeof(*cc));
}
