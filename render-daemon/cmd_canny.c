/* cmd_canny.c - kiln-render canny: the canny edge map ControlNet's canny
 * preprocessor makes of an image (the same as OpenCV's cv2.Canny on it),
 * to see what a render will follow, and for tests. */
#include "canny.h"
#include "commands.h"
#include "image.h"

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
