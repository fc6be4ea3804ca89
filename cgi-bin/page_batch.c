/* page_batch.c - batches from a CSV file: GET /batch, the upload form
 * (a file or pasted text); POST /batch, every row checked as a job
 * before anything is queued, each problem named by row and column, then
 * one job per row queued as one batch; GET /batch/{id}, the rows' jobs
 * and their state; GET /batch/{id}.zip, all their images with a
 * manifest (row -> job -> files, parameters). A SKU batch (issue 29)
 * sends a scene manifest template too: each row's values fill its
 * {{column}} placeholders, and the row's manifest makes its job. */
#include "app.h"
#include "auth.h"
#include "csv.h"
#include "i18n.h"
#include "db.h"
#include "handlers.h"
#include "jobzip.h"
#include "log.h"
#include "manifest.h"
#include "multipart.h"
#include "presets.h"
#include "ratelimit.h"
#include "submit.h"
#include "view.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch's rows (jobs) at most; the tier's max_queued may allow fewer,
 * which job_enqueue_batch reports. */
#define BATCH_ROWS_MAX 100
/* Problems listed in one round at most (the rest are counted). */
#define BATCH_ERRORS_MAX 50

static const struct csv_limits batch_csv = {
	.max_bytes = 512 * 1024,
	.max_rows = BATCH_ROWS_MAX + 1,	/* and the header */
	.max_fields = 32,
	.max_field = 8192,
};

/* The pasted text (the file comes as the multipart part "file"), and
 * a SKU batch's manifest template. */
const struct input batch_inputs[] = {
	{ .name = "csv", .type = IN_STR, .flags = IN_BLANK, .max = 512 * 1024 },
	{ .name = "manifest", .type = IN_STR, .flags = IN_BLANK,
	  .max = MANIFEST_MAX_BYTES },
	IN_END,
};

/* The columns a row may have: the job form's inputs of the same names
 * (images and upscale jobs have their own pages). */
static const enum job_input batch_cols[] = {
	JOB_IN_PROMPT, JOB_IN_NEGATIVE, JOB_IN_MODEL, JOB_IN_SAMPLER,
	JOB_IN_WIDTH, JOB_IN_HEIGHT, JOB_IN_STEPS, JOB_IN_CFG, JOB_IN_SEED,
	JOB_IN_BATCH, JOB_IN_LORAS, JOB_IN_HIRES_SCALE, JOB_IN_HIRES_STRENGTH,
	JOB_IN_HIRES_STEPS, JOB_IN_HIRES_UPSCALER,
};

static int
show(struct kreq *req, int status)
{
	size_t i;
	char key[48];

	for (i = 0; i < ARRAY_LEN(batch_cols); i++) {
		snprintf(key, sizeof(key), "Batch.Columns.%zu", i);
		view_set(req, key, job_inputs[batch_cols[i]].name);
	}
	view_set_int(req, "Batch.RowsMax", BATCH_ROWS_MAX);
	/* The pasted text again, beside its problems. */
	if (req->inputs == batch_inputs && in_sent(req, 0) != NULL)
		view_set(req, "Form.csv", in_sent(req, 0));
	if (req->inputs == batch_inputs && in_sent(req, 1) != NULL)
		view_set(req, "Form.manifest", in_sent(req, 1));
	if (req_query(req, "mode") != NULL && !strcmp(req_query(req, "mode"),
	    "sku"))
		view_set(req, "Batch.Sku", "1");
	return view_render(req, status, "Batch from CSV", "batch_new.cs");
}

int
page_batch_new(struct kreq *req)
{
	return show(req, 200);
}

/* The problems of all rows, for one page. */
struct problems {
	struct kreq *req;
	long row;		/* the row being checked */
	int n;
};

static void
problem(struct problems *p, long row, const char *col, const char *msg)
{
	char key[48], text[1400];

	if (p->n < BATCH_ERRORS_MAX) {
		snprintf(key, sizeof(key), "Batch.Errors.%d", p->n);
		/* msg: submit.c's fixed messages and this file's are
		 * translated here (i18n_check.py finds them); its formatted
		 * ones come translated (job_spec_lang). */
		if (col != NULL)
			snprintf(text, sizeof(text), view_tr(p->req,
				"row %ld, column %s: %s"), row, col,
				view_tr(p->req, msg));
		else
			snprintf(text, sizeof(text), view_tr(p->req,
				"row %ld: %s"), row, view_tr(p->req, msg));
		view_set(p->req, key, text);
	}
	p->n++;
}

static void
row_error(void *arg, const char *field, const char *msg)
{
	struct problems *p = arg;

	problem(p, p->row, field, msg);
}

/* The header's columns as indices of job_inputs into col (-1: none).
 * In a SKU batch (sku) any other column is a placeholder's value, and
 * the manifest makes the prompt. Returns the number of problems. */
static int
header_cols(const struct csv_row *h, int *col, int sku, struct problems *p)
{
	size_t i, k, j;
	int bad = 0;

	for (i = 0; i < h->n; i++) {
		col[i] = -1;
		for (k = 0; k < ARRAY_LEN(batch_cols); k++)
			if (!strcmp(h->field[i], job_inputs[batch_cols[k]].name))
				col[i] = (int)batch_cols[k];
		if (sku && *h->field[i] == '\0') {
			problem(p, h->row, h->field[i], N_("has no name"));
			bad++;
			continue;
		}
		if (col[i] < 0 && sku)
			continue;
		if (col[i] < 0) {
			problem(p, h->row, h->field[i], *h->field[i] ?
				N_("is not a column a job takes (see the list "
				"of columns)") : N_("has no name"));
			bad++;
			continue;
		}
		for (j = 0; j < i; j++)
			if (col[j] == col[i]) {
				problem(p, h->row, h->field[i], N_("is named "
					"twice"));
				bad++;
			}
	}
	for (i = 0; i < h->n && bad == 0; i++)
		if (col[i] == JOB_IN_PROMPT || sku)
			return 0;
	if (bad == 0) {
		problem(p, h->row, "prompt", "is required: the header names "
			"no prompt column");
		bad++;
	}
	return bad;
}

/* A form's LoRA list ("name:weight, ...") as JobRequest's array. */
static json_object *
loras_array(const char *text, char *err, size_t errlen)
{
	struct job_lora l[JOB_LORAS_MAX];
	json_object *a;
	int n = 0, i;
	char w[40];

	if (lora_list_parse(text, l, JOB_LORAS_MAX, &n, err, errlen) != 0)
		return NULL;
	a = json_object_new_array();
	for (i = 0; a != NULL && i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name",
			json_object_new_string(l[i].name));
		lora_weight_text(l[i].weight, w, sizeof(w));
		json_object_object_add(o, "weight",
			json_object_new_double_s(l[i].weight, w));
		lora_weight_text(l[i].unet_weight, w, sizeof(w));
		json_object_object_add(o, "unet_weight",
			json_object_new_double_s(l[i].unet_weight, w));
		json_object_array_add(a, o);
	}
	return a;
}

/* Row r as a JobRequest (empty cells: the defaults). Returns it, or NULL
 * after reporting its problems. */
static json_object *
row_body(const struct csv_row *r, const int *col, size_t ncol,
	struct problems *p)
{
	json_object *o = json_object_new_object(), *v;
	char err[512];
	int bad = 0;
	size_t i;

	if (o == NULL)
		return NULL;
	if (r->n != ncol) {
		snprintf(err, sizeof(err), "has %zu field(s); the header "
			"names %zu", r->n, ncol);
		problem(p, r->row, NULL, err);
		json_object_put(o);
		return NULL;
	}
	for (i = 0; i < ncol; i++) {
		const struct input *in;
		const char *t = r->field[i];

		if (*t == '\0' || col[i] < 0)
			continue;
		in = &job_inputs[col[i]];
		if (col[i] == JOB_IN_LORAS) {
			v = loras_array(t, err, sizeof(err));
			if (v == NULL) {
				problem(p, r->row, in->name, err);
				bad++;
				continue;
			}
		} else if (in->type == IN_INT || in->type == IN_DEC) {
			/* A number by its text, which the spec checks as a
			 * JSON body's number (parse_number): "abc" or "6.4e1"
			 * is refused there, naming the column. */
			v = json_object_new_double_s(0, t);
		} else {
			v = json_object_new_string(t);
		}
		json_object_object_add(o, in->name, v);
	}
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The CSV's text: the uploaded file, else the pasted text. */
static const char *
csv_text(const struct kreq *req, size_t *len, const char **name)
{
	const uint8_t *data;
	const char *t;
	size_t i;

	/* The file's name is shown and stored: UTF-8 text that fits the
	 * column, else none. */
	static const struct input fname = { .name = "file", .type = IN_STR,
		.flags = IN_TEXT, .max = 200 };
	struct in_value v;

	*name = "";
	if (req_file(req, "file", &data, len)) {
		for (i = 0; i < req->nparts; i++)
			if (req->parts[i].filename != NULL &&
			    !strcmp(req->parts[i].name, "file") &&
			    in_check(&fname, req->parts[i].filename, &v) == 0)
				*name = req->parts[i].filename;
		return (const char *)data;
	}
	t = in_str(req, 0);
	*len = t != NULL ? strlen(t) : 0;
	return t;
}

/* The form again with every problem found (none was queued). */
static int
refuse(struct kreq *req, const struct problems *p)
{
	if (p->n > BATCH_ERRORS_MAX)
		view_set_int(req, "Batch.ErrorsMore", p->n - BATCH_ERRORS_MAX);
	view_set(req, "Form.Error", view_tr(req, "No job was queued: fix "
		"these problems and send the file again"));
	return show(req, 422);
}

/* Row i of a SKU batch: its values fill the template into the row's
 * manifest, compiled into body's job fields (manifest_apply), its
 * text in *mt and the preset versions in *mp (the caller frees). A row
 * whose manifest is not valid is a problem named by row (and column
 * where it is one). Returns 0, 1 after noting the row's problems, or
 * -1 after answering a db error. */
static int
sku_row(struct kreq *req, json_object *tmpl, const struct csv *csv, size_t i,
	json_object *body, char **mt, char **mp, struct problems *p)
{
	const struct csv_row *r = &csv->row[i];
	json_object *filled = NULL;
	char err[512];
	int bad;

	if (r->n != csv->row[0].n)
		return 0;	/* row_body named it */
	if (manifest_fill(tmpl, (const char *const *)csv->row[0].field,
	    (const char *const *)r->field, r->n, &filled, err,
	    sizeof(err)) != 0) {
		problem(p, r->row, NULL, err);
		return 1;
	}
	json_object_object_add(body, "manifest", filled);
	bad = manifest_apply(req->app->db, req->auth->user_id, body,
		mt, mp, row_error, p);
	if (bad < 0) {
		view_db_fail(req, "batch: manifest presets");
		return -1;
	}
	return bad > 0;
}

static int
batch_post(struct kreq *req)
{
	struct problems p = { req, 0, 0 };
	struct tier_limits tier;
	struct enqueue_refusal why;
	struct csv csv = { 0 };
	struct job_spec *specs = NULL;
	unsigned long long *ids = NULL, batch_id = 0;
	json_object *body, *tmpl = NULL;
	const char *text, *name, *ttext;
	char *mt, *mp;
	int col[32], st, rc = -1;
	size_t len = 0, i, n = 0;
	char err[512], url[64];

	tier_of(&req->app->cfg, req->auth->tier, &tier);
	if (in_bad(req, 0) || in_bad(req, 1)) {
		view_set(req, "Form.Error", view_tr(req, "The pasted text is "
			"too long."));
		return show(req, 400);
	}
	/* A SKU batch: the template must be a JSON object; its manifest
	 * is checked row by row once filled. */
	ttext = in_str(req, 1);
	if (ttext != NULL && *ttext != '\0') {
		tmpl = json_tokener_parse(ttext);
		if (tmpl == NULL || !json_object_is_type(tmpl,
		    json_type_object)) {
			json_object_put(tmpl);
			view_set(req, "Batch.Sku", "1");
			view_set(req, "Form.Error", view_tr(req, "The manifest "
				"template is not a JSON object."));
			return show(req, 400);
		}
	}
	text = csv_text(req, &len, &name);
	if (text == NULL || len == 0) {
		view_set(req, "Form.Error", view_tr(req, "Choose a CSV file or "
			"paste its text."));
		json_object_put(tmpl);
		return show(req, 400);
	}
	if (tmpl != NULL)
		view_set(req, "Batch.Sku", "1");
	if (csv_parse(text, len, &batch_csv, &csv, err, sizeof(err)) != 0) {
		view_set(req, "Form.Error", err);
		csv_free(&csv);
		json_object_put(tmpl);
		return show(req, 400);
	}
	if (csv.n < 2) {
		view_set(req, "Form.Error", view_tr(req, "The file has no rows "
			"under its header."));
		csv_free(&csv);
		json_object_put(tmpl);
		return show(req, 400);
	}
	if (header_cols(&csv.row[0], col, tmpl != NULL, &p) != 0) {
		rc = refuse(req, &p);
		goto out;
	}
	/* Every placeholder of the template names a column. */
	if (tmpl != NULL && manifest_template_check(tmpl,
	    (const char *const *)csv.row[0].field, csv.row[0].n, err,
	    sizeof(err)) != 0) {
		problem(&p, csv.row[0].row, NULL, err);
		rc = refuse(req, &p);
		goto out;
	}
	st = limit_submit(req);
	if (st != 0) {
		csv_free(&csv);
		if (st < 0)
			return view_db_fail(req, "batch: rate limit");
		view_error(req, 429, "rate_limited", "You have submitted many "
			"jobs in a short time. Wait a little and try again.");
		return -1;
	}
	/* Every row checked as a job before any is queued. */
	specs = xcalloc(csv.n, sizeof(*specs));
	ids = xcalloc(csv.n, sizeof(*ids));
	for (i = 1; i < csv.n; i++, n++) {
		int bad;

		p.row = csv.row[i].row;
		body = row_body(&csv.row[i], col, csv.row[0].n, &p);
		if (body == NULL)
			continue;
		st = tmpl != NULL ? sku_row(req, tmpl, &csv, i, body,
			&specs[n].manifest, &specs[n].manifest_presets, &p) : 0;
		if (st != 0) {
			json_object_put(body);
			if (st < 0)
				goto out;
			continue;
		}
		/* job_spec_from_json starts the spec afresh: keep the
		 * row's manifest across it. */
		mt = specs[n].manifest;
		mp = specs[n].manifest_presets;
		bad = job_spec_from_json(body, &req->app->cfg, &specs[n],
			row_error, &p);
		specs[n].manifest = mt;
		specs[n].manifest_presets = mp;
		json_object_put(body);
		if (bad < 0) {
			view_error(req, 500, "internal", "The jobs could not "
				"be prepared; try again shortly.");
			goto out;
		}
		if (bad == 0)
			bad = job_spec_limits(&specs[n], &tier, row_error, &p);
		if (bad == 0)
			job_spec_model_limits(&specs[n], row_error, &p);
		specs[n].batch_row = csv.row[i].row;
	}
	if (p.n > 0) {
		rc = refuse(req, &p);
		goto out;
	}
	st = job_enqueue_batch(req->app->db, req->auth->user_id, &tier, specs,
		(int)n, ids, &why, name, &batch_id);
	if (st < 0) {
		rc = view_db_fail(req, "batch: enqueue");
		goto out;
	}
	if (st > 0) {
		/* The whole batch or nothing: say why, queue none. */
		view_set(req, "Form.Error", why.message);
		rc = show(req, why.status);
		goto out;
	}
	snprintf(url, sizeof(url), "/batch/%llu", batch_id);
	rc = view_flash(req, "batched") == 0 ? resp_redirect(req, url) :
		(view_error(req, 500, "internal", "Out of memory."), -1);
out:
	for (i = 0; specs != NULL && i < csv.n; i++)
		job_spec_free(&specs[i]);
	free(specs);
	free(ids);
	csv_free(&csv);
	json_object_put(tmpl);
	return rc;
}

int
page_batch_post(struct kreq *req)
{
	int rc;

	/* submit.c's formatted messages in the page's language. */
	job_spec_lang(view_lang(req));
	rc = batch_post(req);
	job_spec_lang(NULL);
	return rc;
}

/* "12" or "12.zip": the batch id and whether the ZIP is asked for.
 * Returns the id, or 0 when the segment is neither. */
static unsigned long long
batch_id_of(const char *seg, int *zip)
{
	char digits[24];
	size_t n = strspn(seg, "0123456789");
	long id;

	*zip = !strcmp(seg + n, ".zip");
	if (n == 0 || n >= sizeof(digits) || (seg[n] != '\0' && !*zip))
		return 0;
	memcpy(digits, seg, n);
	digits[n] = '\0';
	return parse_long(digits, 1, 1L << 62, &id) == 0 ?
		(unsigned long long)id : 0;
}

static int
batch_zip(struct kreq *req, unsigned long long id)
{
	struct buf b = { 0 };
	char name[64];

	snprintf(name, sizeof(name), "kiln-batch-%llu.zip", id);
	return page_zip_send(req, jobs_zip(req->app->db,
		&req->app->cfg, req->app->cfg.base_url, id, 1,
		req->auth->user_id, JOBZIP_MAX_BYTES, &b), &b, name);
}

int
page_batch(struct kreq *req)
{
	int zip = 0;
	unsigned long long id = batch_id_of(req->captures[0], &zip);
	struct db_param p[2] = { DB_INT(id), DB_INT(req->auth->user_id) };
	long n, active = 0;

	if (id == 0) {
		view_error(req, 404, "not_found", "No such batch.");
		return -1;
	}
	if (zip)
		return batch_zip(req, id);
	n = view_rows(req, "Batch", "SELECT id AS Id, name AS Name,"
		" jobs AS Jobs, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i')"
		" AS Created FROM batches WHERE id = ? AND user_id = ?", p, 2);
	if (n < 0)
		return view_db_fail(req, "batch");
	if (n == 0) {
		view_error(req, 404, "not_found", "No such batch.");
		return -1;
	}
	n = view_rows(req, "Rows", "SELECT j.batch_row AS Row, j.id AS Id,"
		" j.status AS Status, LEFT(j.prompt, 120) AS Prompt,"
		" j.width AS Width, j.height AS Height, j.seed AS Seed,"
		" (SELECT MIN(i.idx) FROM job_images i WHERE i.job_id = j.id)"
		" AS Thumb FROM jobs j WHERE j.batch_id = ? AND j.user_id = ?"
		" AND j.deleted_at IS NULL ORDER BY j.batch_row, j.id", p, 2);
	if (n < 0 || db_query_long(req->app->db, "SELECT COUNT(*) FROM jobs"
	    " WHERE batch_id = ? AND user_id = ? AND status IN ('queued',"
	    " 'running')", p, 2, &active) != 0)
		return view_db_fail(req, "batch: rows");
	/* Until every row has ended, the page reloads itself. */
	if (active > 0)
		view_set(req, "Page.Refresh", "5");
	view_set_int(req, "Batch.Active", active);
	return view_render(req, 200, "Batch", "batch.cs");
}
