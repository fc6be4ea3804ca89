/* control.h - the ControlNets of a render (pipeline.h's gen_control):
 * each file loaded once and kept while the pipeline lives, each hint
 * (the user's image resized to the render's size, then through its
 * preprocessor) embedded once per render, and at every step the summed
 * residuals of the ControlNets whose start..end span holds the step. */
#ifndef KILN_CONTROL_H
#define KILN_CONTROL_H

#include <stddef.h>

#include "pipeline.h"
#include "unet.h"

struct control_cache;

/* Returns an empty cache, or NULL when memory runs out. */
struct control_cache *control_cache_new(struct kiln_rt *rt);
/* Frees every ControlNet; accepts NULL. */
void control_cache_free(struct control_cache *c);

/* Checks g[0..n-1] without a model: counts, weights, spans, thresholds,
 * images. Returns 0, or -1 with a message starting "controlnet:". */
int control_check(const struct gen_control *g, int n, char *err,
	size_t errlen);

/* Readies a render of width x height with the UNet u (latents of
 * latent_c channels, factor pixels each): loads the ControlNets not yet
 * in c (dropping those no longer asked for), checks each fits u, makes
 * the hints and their embeddings. Returns 0, or -1 with a message
 * naming the ControlNet's file. */
int control_begin(struct control_cache *c, const struct unet *u,
	int latent_c, int factor, const struct gen_control *g, int n,
	int width, int height, char *err, size_t errlen);

/* The residuals of the ControlNets active at frac (the step's index over
 * the steps run: start <= frac <= end), summed into res (zeroed by the
 * caller; left with ndown 0 when none is active). Returns 0, or -1 with
 * rt_error(). */
int control_eval(struct control_cache *c, double frac,
	const struct ktensor *x, const float *t, const struct ktensor *ctx,
	const struct unet_added *add, struct unet_residuals *res);

/* Frees the render's hint embeddings (the ControlNets stay). */
void control_end(struct control_cache *c);

/* The hint image of one control at width x height: g's image resized,
 * then its preprocessor's map, as RGB8 (w x h x 3) into a malloc'd *out.
 * Returns 0, or -1 with a message in err. */
int control_hint_rgb(const struct gen_control *g, int width, int height,
	uint8_t **out, char *err, size_t errlen);

#endif
