/* registry.h - kilnd's model registry: model names resolved in the models
 * directory, loaded on first use, kept loaded, and evicted least recently
 * used when the loaded models pass a memory budget. */
#ifndef KILN_REGISTRY_H
#define KILN_REGISTRY_H

#include <stddef.h>

struct kiln_rt;
struct pipeline;
struct registry;

/* A registry loading onto rt (borrowed) from models_dir (copied), keeping
 * at most budget bytes of device memory in loaded models (0: one model at
 * a time). Returns NULL when memory runs out. */
struct registry *registry_new(struct kiln_rt *rt, const char *models_dir,
    size_t budget);

/* Frees every loaded model; accepts NULL. */
void registry_free(struct registry *r);

/* New settings after a config reload: models loaded from a directory that
 * is no longer the one configured are dropped. Returns 0, or -1 when
 * memory runs out (the old settings stay). */
int registry_configure(struct registry *r, const char *models_dir,
    size_t budget);

/*
 * The pipeline of model name, loading it when it is not loaded (which may
 * evict others, least recently used first, to stay within the budget);
 * *first says whether this call loaded it (its first render is a cold
 * one). The registry keeps ownership. Returns NULL with a message naming
 * the model in err when the name is not a model in the directory or it
 * fails to load; other loaded models are unaffected.
 */
struct pipeline *registry_get(struct registry *r, const char *name,
    int *first, char *err, size_t errlen);

/* How many models are loaded and their device bytes. */
int registry_loaded(const struct registry *r, size_t *bytes);

#endif
