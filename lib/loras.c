/* loras.c - a job's LoRAs from its prompt's tags, its JSON field or a
 * form, and their stored form (see loras.h). The tag syntax is
 * AUTOMATIC1111's (modules/extra_networks.py parse_prompt and
 * ExtraNetworkParams, extensions-builtin/Lora/extra_networks_lora.py). */
#include "loras.h"
#include "models.h"
#include "util.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
lora_weight_text(double w, char *out, size_t outlen)
{
	int p;

	/* Plain decimal (the form the JSON API takes back), with the fewest
	 * digits that read back as w; a weight too small for twenty
	 * decimals in exponent form, which the stored form and a tag read
	 * as well. */
	for (p = 0; p <= 20; p++) {
		snprintf(out, outlen, "%.*f", p, w);
		if (strtod(out, NULL) == w)
			return;
	}
	snprintf(out, outlen, "%.17g", w);
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		c == '\v';
}

/* A tag's number as Python's float() reads it (spaces around, a sign,
 * digits with a point, an exponent), within the weight range; "inf",
 * "nan" and hexadecimal are not weights. Returns 0, or -1. */
static int
parse_weight(const char *s, size_t len, double *out)
{
	char buf[64], *end;
	size_t i;

	while (len > 0 && is_space((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	for (i = 0; i < len; i++)
		if (strchr("0123456789.eE+-", s[i]) == NULL)
			return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, &end);
	if (*end != '\0' || end == buf || !isfinite(*out) ||
	    fabs(*out) > LORA_WEIGHT_MAX)
		return -1;
	return 0;
}

/* A tag quoted for a message: its first 80 bytes. */
static void
tag_text(const char *tag, size_t len, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.*s%s", (int)(len > 80 ? 77 : len), tag,
		len > 80 ? "..." : "");
}

/* Appends name with its weights to out; the name is checked here. */
static int
add(struct job_lora *out, int max, int *n, const char *name, size_t nlen,
	double te, double unet, enum lora_source src, const char *where,
	char *err, size_t errlen)
{
	char q[80];

	snprintf(q, sizeof(q), "%.*s", (int)(nlen > 64 ? 64 : nlen), name);
	if (nlen == 0 || nlen > 64 || memchr(name, '\0', nlen) != NULL) {
		return errf(err, errlen, "%s: a LoRA's name is 1 to 64 of "
			"A-Z a-z 0-9 . _ -", where);
	}
	if (!model_name_ok(q))
		return errf(err, errlen, "%s: \"%s\" is not a LoRA name (1 to "
			"64 of A-Z a-z 0-9 . _ -)", where, q);
	if (*n >= max)
		return errf(err, errlen, "%s: at most %d LoRAs in one job",
			where, max);
	memcpy(out[*n].name, q, strlen(q) + 1);
	out[*n].weight = te;
	out[*n].unet_weight = unet;
	out[*n].source = src;
	(*n)++;
	return 0;
}

/* A weight's message: what was given is not one. */
static int
not_a_weight(const char *where, const char *p, size_t len, char *err,
	size_t errlen)
{
	return errf(err, errlen, "%s: \"%.*s\" is not a weight (a number "
		"from -10 to 10)", where, (int)(len > 40 ? 40 : len), p);
}

/* One tag's arguments (args, alen bytes: "name:0.8:0.5", "name:te=1"),
 * as A1111's ExtraNetworkParams splits them: items with exactly one '='
 * are named, the others positional; a named weight wins over a
 * positional one. */
static int
tag_args(const char *tag, size_t tlen, const char *args, size_t alen,
	struct job_lora *out, int max, int *n, char *err, size_t errlen)
{
	const char *pos[4], *p = args, *end = args + alen;
	const char *named_te = NULL, *named_unet = NULL;
	size_t plen[4], te_len = 0, unet_len = 0;
	double te = 1.0, unet;
	int npos = 0;
	char where[100];

	tag_text(tag, tlen, where, sizeof(where));
	for (;;) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *item_end = colon != NULL ? colon : end;
		size_t ilen = (size_t)(item_end - p);
		const char *eq = memchr(p, '=', ilen);

		if (eq != NULL && memchr(eq + 1, '=', (size_t)(item_end -
		    eq - 1)) == NULL) {
			size_t klen = (size_t)(eq - p);

			if (klen == 2 && !memcmp(p, "te", 2)) {
				named_te = eq + 1;
				te_len = ilen - klen - 1;
			} else if (klen == 4 && !memcmp(p, "unet", 4)) {
				named_unet = eq + 1;
				unet_len = ilen - klen - 1;
			} else if (klen == 3 && !memcmp(p, "dyn", 3)) {
				return errf(err, errlen, "%s: dyn (a dynamic "
					"rank) is not supported", where);
			} else {
				return errf(err, errlen, "%s: unknown "
					"parameter \"%.*s\" (te= or unet=)",
					where, (int)(klen > 32 ? 32 : klen), p);
			}
		} else if (npos == 3) {
			/* A1111's fourth is dyn, the dynamic rank. */
			return errf(err, errlen, "%s: a fourth argument (dyn, "
				"a dynamic rank) is not supported", where);
		} else {
			pos[npos] = p;
			plen[npos++] = ilen;
		}
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	if (npos == 0)
		return errf(err, errlen, "%s: names no LoRA", where);
	if (named_te != NULL ? parse_weight(named_te, te_len, &te) != 0 :
	    npos >= 2 && parse_weight(pos[1], plen[1], &te) != 0)
		return named_te != NULL ?
			not_a_weight(where, named_te, te_len, err, errlen) :
			not_a_weight(where, pos[1], plen[1], err, errlen);
	/* The UNet's weight is the text encoders' unless given. */
	unet = te;
	if (named_unet != NULL ? parse_weight(named_unet, unet_len, &unet) !=
	    0 : npos >= 3 && parse_weight(pos[2], plen[2], &unet) != 0)
		return named_unet != NULL ?
			not_a_weight(where, named_unet, unet_len, err, errlen) :
			not_a_weight(where, pos[2], plen[2], err, errlen);
	return add(out, max, n, pos[0], plen[0], te, unet, LORA_FROM_PROMPT,
		where, err, errlen);
}

/* Python's \w for the tag's type: ASCII letters, digits, '_', and (as
 * an approximation of Unicode's word characters) any non-ASCII byte. */
static int
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

int
lora_tags_parse(const char *prompt, struct job_lora *out, int max, int *n,
	char *err, size_t errlen)
{
	const char *p = prompt;

	while ((p = strchr(p, '<')) != NULL) {
		const char *type = p + 1, *q = type, *args, *close;
		size_t tlen;

		while (is_word((unsigned char)*q))
			q++;
		tlen = (size_t)(q - type);
		/* <(\w+):([^>]+)>: a type, a colon, at least one byte that
		 * is not '>', then '>'. No match here: on at the next '<'
		 * (the regular expression's next start). */
		if (tlen == 0 || *q != ':' || q[1] == '>' || q[1] == '\0' ||
		    (close = strchr(q + 1, '>')) == NULL) {
			p++;
			continue;
		}
		args = q + 1;
		if ((tlen == 4 && (!memcmp(type, "lora", 4) ||
		    !memcmp(type, "lyco", 4))) &&
		    tag_args(p, (size_t)(close + 1 - p), args,
		    (size_t)(close - args), out, max, n, err, errlen) != 0)
			return -1;
		if (tlen == 8 && !memcmp(type, "hypernet", 8)) {
			char where[100];

			tag_text(p, (size_t)(close + 1 - p), where,
				sizeof(where));
			return errf(err, errlen, "%s: hypernetworks are not "
				"supported", where);
		}
		p = close + 1;
	}
	return 0;
}

int
lora_list_parse(const char *text, struct job_lora *out, int max, int *n,
	char *err, size_t errlen)
{
	const char *p = text;

	for (;;) {
		const char *comma = strchr(p, ','), *e, *c1, *c2;
		size_t len;
		double w = 1.0, u;
		char where[100];

		e = comma != NULL ? comma : p + strlen(p);
		while (p < e && is_space((unsigned char)*p))
			p++;
		len = (size_t)(e - p);
		while (len > 0 && is_space((unsigned char)p[len - 1]))
			len--;
		if (len > 0) {
			tag_text(p, len, where, sizeof(where));
			c1 = memchr(p, ':', len);
			c2 = c1 != NULL ? memchr(c1 + 1, ':',
				(size_t)(p + len - c1 - 1)) : NULL;
			if (c1 != NULL && parse_weight(c1 + 1, (size_t)((c2 ?
			    c2 : p + len) - c1 - 1), &w) != 0)
				return errf(err, errlen, "%s: the weight is "
					"not a number from -10 to 10", where);
			u = w;
			if (c2 != NULL && parse_weight(c2 + 1,
			    (size_t)(p + len - c2 - 1), &u) != 0)
				return errf(err, errlen, "%s: the UNet's "
					"weight is not a number from -10 to 10",
					where);
			if (add(out, max, n, p, c1 != NULL ? (size_t)(c1 - p) :
			    len, w, u, LORA_FROM_FIELD, where, err,
			    errlen) != 0)
				return -1;
		}
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* A JSON number field of a LoRA as a weight (plain decimal, -10..10). */
static int
json_weight(json_object *v, double *out)
{
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return -1;
	return parse_decimal(json_object_to_json_string_ext(v,
		JSON_C_TO_STRING_PLAIN), -LORA_WEIGHT_MAX, LORA_WEIGHT_MAX,
		out);
}

int
lora_json_parse(json_object *a, struct job_lora *out, int max, int *n,
	void (*bad)(void *arg, const char *field, const char *msg), void *arg)
{
	char field[64], msg[160];
	size_t i, len;
	int problems = 0;

	if (!json_object_is_type(a, json_type_array)) {
		bad(arg, "loras", "must be an array of {\"name\", \"weight\"}");
		return 1;
	}
	len = json_object_array_length(a);
	if (len > (size_t)max) {
		snprintf(msg, sizeof(msg), "at most %d LoRAs in one job", max);
		bad(arg, "loras", msg);
		return 1;
	}
	for (i = 0; i < len; i++) {
		json_object *o = json_object_array_get_idx(a, i), *v;
		const char *name = NULL;
		double w = 1.0, u = 0;
		int have_u = 0, ok = 1;

		if (!json_object_is_type(o, json_type_object)) {
			snprintf(field, sizeof(field), "loras[%zu]", i);
			bad(arg, field, "must be an object {\"name\", "
				"\"weight\"}");
			problems++;
			continue;
		}
		json_object_object_foreach(o, key, val) {
			snprintf(field, sizeof(field), "loras[%zu].%.20s", i,
				key);
			if (!strcmp(key, "name")) {
				if (!json_object_is_type(val,
				    json_type_string)) {
					bad(arg, field, "must be a string");
					ok = 0;
				} else {
					name = json_object_get_string(val);
				}
			} else if (!strcmp(key, "weight") ||
			    !strcmp(key, "unet_weight")) {
				int unet = key[0] == 'u';

				if (json_weight(val, unet ? &u : &w) != 0) {
					bad(arg, field, "must be a number from "
						"-10 to 10");
					ok = 0;
				}
				have_u |= unet;
			} else {
				bad(arg, field, "unknown field");
				ok = 0;
			}
		}
		snprintf(field, sizeof(field), "loras[%zu].name", i);
		if (ok && name == NULL) {
			bad(arg, field, "is required");
			ok = 0;
		} else if (ok && json_object_object_get_ex(o, "name", &v) &&
		    strlen(name) != (size_t)json_object_get_string_len(v)) {
			bad(arg, field, "contains a control character");
			ok = 0;
		} else if (ok && add(out, max, n, name, strlen(name), w,
		    have_u ? u : w, LORA_FROM_FIELD, field, msg,
		    sizeof(msg)) != 0) {
			/* The message less the field's name in front. */
			const char *m = strstr(msg, ": ");

			bad(arg, field, m != NULL ? m + 2 : msg);
			ok = 0;
		}
		problems += !ok;
	}
	return problems;
}

char *
loras_to_text(const struct job_lora *l, int n)
{
	json_object *a;
	char w[40], u[40], *s;
	int i;

	if (n <= 0)
		return NULL;
	a = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		lora_weight_text(l[i].weight, w, sizeof(w));
		lora_weight_text(l[i].unet_weight, u, sizeof(u));
		json_object_object_add(o, "name",
			json_object_new_string(l[i].name));
		json_object_object_add(o, "weight",
			json_object_new_double_s(l[i].weight, w));
		json_object_object_add(o, "unet_weight",
			json_object_new_double_s(l[i].unet_weight, u));
		json_object_object_add(o, "source", json_object_new_string(
			l[i].source == LORA_FROM_PROMPT ? "prompt" : "field"));
		json_object_array_add(a, o);
	}
	s = xstrdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return s;
}

/* A stored weight: any JSON number in range. */
static int
stored_weight(json_object *v, double *out)
{
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return -1;
	*out = json_object_get_double(v);
	return isfinite(*out) && fabs(*out) <= LORA_WEIGHT_MAX ? 0 : -1;
}

int
loras_from_text(const char *text, struct job_lora *out, int max, int *n)
{
	json_object *a = json_tokener_parse(text), *v;
	size_t i, len;
	int rc = -1;

	*n = 0;
	if (a == NULL || !json_object_is_type(a, json_type_array))
		goto out;
	len = json_object_array_length(a);
	if (len > (size_t)max)
		goto out;
	for (i = 0; i < len; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		struct job_lora *l = &out[i];
		const char *s;

		if (!json_object_object_get_ex(o, "name", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    !model_name_ok(s = json_object_get_string(v)))
			goto out;
		snprintf(l->name, sizeof(l->name), "%s", s);
		if (!json_object_object_get_ex(o, "weight", &v) ||
		    stored_weight(v, &l->weight) != 0 ||
		    !json_object_object_get_ex(o, "unet_weight", &v) ||
		    stored_weight(v, &l->unet_weight) != 0 ||
		    !json_object_object_get_ex(o, "source", &v) ||
		    !json_object_is_type(v, json_type_string))
			goto out;
		s = json_object_get_string(v);
		if (strcmp(s, "prompt") != 0 && strcmp(s, "field") != 0)
			goto out;
		l->source = !strcmp(s, "prompt") ? LORA_FROM_PROMPT :
			LORA_FROM_FIELD;
	}
	*n = (int)len;
	rc = 0;
out:
	json_object_put(a);
	return rc;
}
