/* cmd_st.c - kiln-render st-dump: lists a safetensors file, or prints one
 * tensor as float32, for tests and for looking into checkpoints. */
#include "commands.h"
#include "safetensors.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* One line per tensor: NAME<TAB>DTYPE<TAB>[d0,d1,...]. */
static void
print_list(const struct st_file *f)
{
	const struct st_tensor *t;
	size_t i;
	int d;

	for (i = 0; i < st_count(f); i++) {
		t = st_get(f, i);
		printf("%s\t%s\t[", t->name, st_dtype_name(t->dtype));
		for (d = 0; d < t->ndim; d++)
			printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
		printf("]\n");
	}
}

/* The values as one JSON array, with NaN/Infinity spelled as json-c and
 * Python's json module spell them. Numbers only, so plain printf is safe
 * here, and it streams: a json-c array would hold an object per value. */
static int
print_values(const struct st_tensor *t)
{
	char err[512];
	float *v;
	size_t i;

	if (t->nelems >= SIZE_MAX / sizeof(*v) ||
	    (v = malloc((t->nelems + 1) * sizeof(*v))) == NULL) {
		fprintf(stderr, "kiln-render: st-dump: out of memory\n");
		return -1;
	}
	if (st_to_f32(t, v, t->nelems, err, sizeof(err)) == -1) {
		fprintf(stderr, "kiln-render: %s\n", err);
		free(v);
		return -1;
	}
	putchar('[');
	for (i = 0; i < t->nelems; i++) {
		if (i > 0)
			putchar(',');
		if (isnan(v[i]))
			fputs("NaN", stdout);
		else if (isinf(v[i]))
			fputs(v[i] > 0 ? "Infinity" : "-Infinity", stdout);
		else
			printf("%.9g", (double)v[i]);
	}
	printf("]\n");
	free(v);
	return 0;
}

int
cmd_st_dump(int argc, char **argv)
{
	struct st_file *f;
	const struct st_tensor *t;
	char err[512];
	int rc = 1;

	if (argc < 1 || argc > 2) {
		fprintf(stderr, "usage: kiln-render st-dump FILE [TENSOR]\n");
		return 2;
	}
	f = st_open(argv[0], err, sizeof(err));
	if (f == NULL) {
		fprintf(stderr, "kiln-render: %s\n", err);
		return 1;
	}
	if (argc == 1) {
		print_list(f);
	} else if ((t = st_find(f, argv[1])) == NULL) {
		fprintf(stderr, "kiln-render: %s: no tensor '%s'\n", argv[0],
		    argv[1]);
		goto out;
	} else if (print_values(t) == -1) {
		goto out;
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "kiln-render: st-dump: cannot write the "
		    "output\n");
		goto out;
	}
	rc = 0;
out:
	st_close(f);
	return rc;
}
