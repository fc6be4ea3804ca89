/* test_status.c - the status page's XML: xml_escape's entities and the
 * bytes XML 1.0 forbids; the Atom feed built from a document made here
 * (its elements, escaping and order); the incident components rule. */
#include "status.h"
#include "tap.h"
#include "util.h"

#include <json-c/json.h>
#include <string.h>

static const char *
escaped(const char *s)
{
	static struct buf b;

	buf_reset(&b);
	if (xml_escape(&b, s) != 0 || buf_append(&b, "", 1) != 0)
		return "(out of memory)";
	return b.data;
}

static void
escapes_the_five_and_drops_controls(void)
{
	CHECK_STR(escaped("plain text"), "plain text");
	CHECK_STR(escaped("<a href=\"x\">&'</a>"),
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	CHECK_STR(escaped("&amp;"), "&amp;amp;");
	/* Tab, LF and CR stay; other C0 bytes cannot be in XML 1.0. */
	CHECK_STR(escaped("a\tb\nc\rd\x01" "e\x1f" "f\x7f"),
	    "a\tb\nc\rdef\x7f");
	CHECK_STR(escaped("中文 <b>"), "中文 &lt;b&gt;");
	CHECK_STR(escaped(""), "");
}

static json_object *
incident(long id, const char *title, const char *updated)
{
	json_object *o = json_object_new_object(), *u, *ups, *c;

	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "title", json_object_new_string(title));
	c = json_object_new_array();
	json_object_array_add(c, json_object_new_string("web"));
	json_object_object_add(o, "components", c);
	json_object_object_add(o, "severity", json_object_new_string("major"));
	json_object_object_add(o, "status",
	    json_object_new_string("identified"));
	json_object_object_add(o, "created_at",
	    json_object_new_string("2026-12-01T10:00:00Z"));
	json_object_object_add(o, "updated_at",
	    json_object_new_string(updated));
	ups = json_object_new_array();
	u = json_object_new_object();
	json_object_object_add(u, "status",
	    json_object_new_string("investigating"));
	json_object_object_add(u, "message",
	    json_object_new_string("first <look> & see"));
	json_object_object_add(u, "created_at",
	    json_object_new_string("2026-12-01T10:00:00Z"));
	json_object_array_add(ups, u);
	json_object_object_add(o, "updates", ups);
	return o;
}

static void
atom_feed_of_a_document(void)
{
	json_object *doc = json_object_new_object(), *inc, *cur, *past;
	struct buf b = { 0 };
	const char *s, *a, *e;

	json_object_object_add(doc, "updated_at",
	    json_object_new_string("2026-12-07T12:00:00Z"));
	inc = json_object_new_object();
	cur = json_object_new_array();
	past = json_object_new_array();
	json_object_array_add(cur, incident(7, "Slow <renders> & \"x\"",
	    "2026-12-02T09:00:00Z"));
	json_object_array_add(past, incident(3, "Old one",
	    "2026-12-05T08:00:00Z"));
	json_object_object_add(inc, "current", cur);
	json_object_object_add(inc, "past", past);
	json_object_object_add(doc, "incidents", inc);
	CHECK(status_atom(&b, doc, "https://kiln.example/") == 0);
	CHECK(buf_append(&b, "", 1) == 0);
	s = b.data;
	CHECK(str_has_prefix(s, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"));
	CHECK(strstr(s, "<id>https://kiln.example/status/feed.atom</id>")
	    != NULL);
	/* The feed's updated is its newest entry's. */
	CHECK(strstr(s, "<updated>2026-12-05T08:00:00Z</updated>\n<author>")
	    != NULL);
	CHECK(strstr(s, "<title>Slow &lt;renders&gt; &amp; &quot;x&quot;"
	    "</title>") != NULL);
	CHECK(strstr(s, "first &lt;look&gt; &amp; see") != NULL);
	CHECK(strstr(s, "<renders>") == NULL);
	/* Current first, then past. */
	a = strstr(s, "<id>https://kiln.example/status#incident-7</id>");
	e = strstr(s, "<id>https://kiln.example/status#incident-3</id>");
	CHECK(a != NULL && e != NULL && a < e);
	CHECK(str_has_suffix(s, "</entry>\n</feed>\n"));
	buf_free(&b);
	json_object_put(doc);
}

static void
component_lists(void)
{
	CHECK(status_components_ok("web"));
	CHECK(status_components_ok("web, queue,kiln-micro"));
	CHECK(status_components_ok("sd_1.5:fp16"));
	CHECK(!status_components_ok(""));
	CHECK(!status_components_ok(" , "));
	CHECK(!status_components_ok("web; queue"));
	CHECK(!status_components_ok("<b>"));
	CHECK(!status_components_ok("web\nqueue"));
}

int
main(void)
{
	RUN(escapes_the_five_and_drops_controls);
	RUN(atom_feed_of_a_document);
	RUN(component_lists);
	return tap_done();
}
