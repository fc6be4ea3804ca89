/* handlers.h - every page and endpoint handler, for the route tables. */
#ifndef KILN_HANDLERS_H
#define KILN_HANDLERS_H

#include "request.h"

/* portal.fcgi */
int page_home(struct kreq *req);

/* api.fcgi */
int api_health(struct kreq *req);

#endif
