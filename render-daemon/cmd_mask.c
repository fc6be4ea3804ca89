/* cmd_mask.c - kiln-render mask: the inpainting mask as the engine sees
 * it (inpaint.h), blurred, as the overlay pastes with it, or as the box
 * "only masked" renders, so people can check a feather before a render
 * and tests can hold each step to a reference. */
#include "commands.h"
#include "image.h"
#include "inpaint.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: kiln-render mask --in MASK.png [--blur 4] "
	    "[--fill IMAGE.png] [--box W:H:PAD] -o OUT.png\n"
	    "Writes MASK's grey level blurred as inpainting blurs it (white "
	    "repaints). --fill\nwrites IMAGE with the masked part filled "
	    "instead (masked content \"fill\");\n--box prints the box that "
	    "--only-masked renders at W x H with PAD pixels\naround the "
	    "mask as JSON {\"x0\",\"y0\",\"x1\",\"y1\"}.\n");
}

int
cmd_mask(int argc, char **argv)
{
	const char *in = NULL, *out = NULL, *fill = NULL, *box = NULL;
	uint8_t *rgb = NULL, *m = NULL, *img = NULL;
	char err[1024];
	long blur = 4;
	int w, h, iw, ih, i, rc = 2;
	size_t k, n;

	for (i = 0; i < argc; i++) {
		const char **dst = !strcmp(argv[i], "--in") ? &in :
		    !strcmp(argv[i], "-o") ? &out :
		    !strcmp(argv[i], "--fill") ? &fill :
		    !strcmp(argv[i], "--box") ? &box : NULL;

		if (!strcmp(argv[i], "--blur") && i + 1 < argc) {
			if (parse_long(argv[++i], 0, INPAINT_MAX_BLUR,
			    &blur) != 0) {
				fprintf(stderr, "kiln-render: mask: --blur: "
				    "'%s' is not 0..%d\n", argv[i],
				    INPAINT_MAX_BLUR);
				return 2;
			}
			continue;
		}
		if (dst == NULL || i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		*dst = argv[++i];
	}
	if (in == NULL || (out == NULL && box == NULL)) {
		usage(stderr);
		return 2;
	}
	if (image_load_rgb(in, &w, &h, &rgb, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: mask: --in: %s\n", err);
		goto out;
	}
	n = (size_t)w * (size_t)h;
	m = malloc(n);
	if (m == NULL)
		goto oom;
	inpaint_mask_from_rgb(rgb, n, m);
	if (box != NULL) {
		struct inpaint_box b;
		int bw, bh, pad;

		if (sscanf(box, "%d:%d:%d", &bw, &bh, &pad) != 3 || bw < 1 ||
		    bh < 1 || pad < 0 || pad > INPAINT_MAX_PAD) {
			fprintf(stderr, "kiln-render: mask: --box: '%s' is not "
			    "W:H:PAD\n", box);
			goto out;
		}
		if (inpaint_blur_mask(m, w, h, (int)blur) != 0)
			goto oom;
		if (inpaint_crop_box(m, w, h, pad, bw, bh, &b) != 0) {
			fprintf(stderr, "kiln-render: mask: nothing is "
			    "masked\n");
			rc = 1;
			goto out;
		}
		printf("{\"x0\":%d,\"y0\":%d,\"x1\":%d,\"y1\":%d}\n", b.x0,
		    b.y0, b.x1, b.y1);
		rc = 0;
		goto out;
	}
	if (fill != NULL) {
		if (image_load_rgb(fill, &iw, &ih, &img, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "kiln-render: mask: --fill: %s\n",
			    err);
			goto out;
		}
		if (iw != w || ih != h) {
			fprintf(stderr, "kiln-render: mask: --fill: %dx%d, "
			    "but the mask is %dx%d\n", iw, ih, w, h);
			goto out;
		}
		if (inpaint_fill_colors(img, m, w, h) != 0)
			goto oom;
	} else {
		if (inpaint_blur_mask(m, w, h, (int)blur) != 0)
			goto oom;
		for (k = 0; k < n * 3; k++)
			rgb[k] = m[k / 3];
		img = rgb;
		rgb = NULL;
	}
	if (image_write_png(out, w, h, img, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render: mask: -o: %s\n", err);
		rc = 1;
		goto out;
	}
	rc = 0;
	goto out;
oom:
	fprintf(stderr, "kiln-render: mask: out of memory\n");
	rc = 1;
out:
	free(rgb);
	free(m);
	free(img);
	return rc;
}
