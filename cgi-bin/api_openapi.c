/* api_openapi.c - GET /api/v1/openapi.json: the API described in OpenAPI
 * 3 (cgi-bin/openapi.json, embedded at build time; test_openapi holds it
 * to the route table). */
#include "app.h"
#include "handlers.h"

extern const char openapi_json[];

int
api_openapi(struct kreq *req)
{
	resp_header(req, "Cache-Control", "public, max-age=3600");
	return resp_json_text(req, 200, openapi_json);
}
