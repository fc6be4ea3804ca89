/* samplers.h - the one list of samplers, for the web side and the
 * engine alike: the names a job may ask for (job_samplers), the engine's
 * enum sampler_kind and names (sampler.h), and A1111's display names
 * (image_sampler_display), all in this order. */
#ifndef KILN_SAMPLERS_H
#define KILN_SAMPLERS_H

/* X(KIND, name, display): SAMPLER_KIND in the engine. */
#define KILN_SAMPLERS(X) \
	X(EULER, "euler", "Euler") \
	X(EULER_A, "euler_a", "Euler a") \
	X(HEUN, "heun", "Heun") \
	X(DDIM, "ddim", "DDIM") \
	X(DPMPP_2M, "dpmpp_2m", "DPM++ 2M") \
	X(DPMPP_2M_KARRAS, "dpmpp_2m_karras", "DPM++ 2M Karras") \
	X(LCM, "lcm", "LCM")

#endif
