/* fuzz_loras.c - libFuzzer harness: any text given to the LoRA parsers
 * (a prompt's <lora:...> tags, a form's "name:weight" list, the stored
 * JSON) gives LoRAs of valid names and weights, never more than asked,
 * or a message; never a crash, an overrun or a leak. What is parsed and
 * stored reads back the same. */
#include "fuzz.h"
#include "loras.h"
#include "models.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void
check(const struct job_lora *l, int n, int rc, const char *err)
{
	struct job_lora back[JOB_LORAS_MAX];
	char *text;
	int i, m;

	CHECK(n >= 0 && n <= JOB_LORAS_MAX);
	if (rc != 0)
		CHECK(err[0] != '\0');
	for (i = 0; i < n; i++) {
		CHECK(model_name_ok(l[i].name));
		CHECK(isfinite(l[i].weight) &&
		    fabs(l[i].weight) <= LORA_WEIGHT_MAX);
		CHECK(isfinite(l[i].unet_weight) &&
		    fabs(l[i].unet_weight) <= LORA_WEIGHT_MAX);
	}
	text = loras_to_text(l, n);
	CHECK((text == NULL) == (n == 0));
	if (text != NULL) {
		CHECK(loras_from_text(text, back, JOB_LORAS_MAX, &m) == 0);
		CHECK(m == n);
		for (i = 0; i < n; i++)
			CHECK(!strcmp(back[i].name, l[i].name) &&
			    back[i].source == l[i].source &&
			    back[i].weight == l[i].weight &&
			    back[i].unet_weight == l[i].unet_weight);
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_lora l[JOB_LORAS_MAX];
	char *s = malloc(size + 1), err[512];
	int n, rc;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = 0;
	err[0] = '\0';
	rc = lora_tags_parse(s, l, JOB_LORAS_MAX, &n, err, sizeof(err));
	check(l, n, rc, err);
	n = 0;
	err[0] = '\0';
	rc = lora_list_parse(s, l, JOB_LORAS_MAX, &n, err, sizeof(err));
	check(l, n, rc, err);
	if (loras_from_text(s, l, JOB_LORAS_MAX, &n) == 0)
		check(l, n, 0, "");
	free(s);
	return 0;
}
