/* canny.h - the canny edge map of ControlNet's preprocessor, computed on
 * the host exactly as OpenCV's cv2.Canny(img, low, high) (aperture 3, L1
 * gradient), which sd-webui-controlnet and diffusers' examples apply to
 * the RGB image itself: no grayscale, no blur. */
#ifndef KILN_CANNY_H
#define KILN_CANNY_H

#include <stddef.h>
#include <stdint.h>

/* Edges of img (w x h pixels of `channels` bytes each, 1 or 3,
 * row-major) into out (w x h bytes, 255 on an edge, else 0):
 *   - per channel a 3x3 Sobel dx, dy (borders replicated), magnitude
 *     |dx| + |dy|; a pixel takes the channel of the largest (the first on
 *     a tie), as OpenCV does for colour images;
 *   - non-maximum suppression along the gradient direction quantised to
 *     0, 45, 90, 135 degrees with OpenCV's fixed-point tangent test
 *     (tan 22.5 = 13573 / 2^15) and its asymmetric comparisons
 *     (strictly greater than one neighbour, at least the other), zero
 *     magnitude outside the image;
 *   - hysteresis: magnitudes above floor(high) start edges, which grow
 *     through 8-connected pixels above floor(low) (low and high swapped
 *     when low > high).
 * Returns 0, or -1 with a message in err (sizes out of range, memory). */
int canny_edges(const uint8_t *img, int w, int h, int channels, double low,
	double high, uint8_t *out, char *err, size_t errlen);

/* ControlNet's canny hint as the engine makes it from a control image,
 * one function for kilnd and the portal's edge preview (so the preview
 * is the map the job will use): rgb (w x h, RGB8) resized to width x
 * height (image_resize_rgb), then canny_edges on its three channels, the
 * edges written as grey RGB8 into a malloc'd *out (width x height x 3).
 * Returns 0, or -1 with a message in err. */
int canny_hint_rgb(const uint8_t *rgb, int w, int h, int width, int height,
	double low, double high, uint8_t **out, char *err, size_t errlen);

#endif
