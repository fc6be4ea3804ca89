/* i18n.h - the portal's languages: English (the msgids themselves) and
 * Simplified Chinese from a gettext PO catalogue, loaded once per process
 * into a hash table that is read-only afterwards; the choice of language
 * from a user's setting, a cookie or Accept-Language; time zones. */
#ifndef KILN_I18N_H
#define KILN_I18N_H

#include <stddef.h>
#include <time.h>

/* The languages, by their HDF / <html lang> codes. */
#define LANG_EN "en"
#define LANG_ZH "zh-CN"
/* The visitors' switch (page_language.c). */
#define LANG_COOKIE "kiln_lang"
/* The time zone the browser reported for a visitor (account.js). */
#define TZ_MAX 64

struct po;

/* Parses a PO catalogue (msgctxt, msgid, msgid_plural, msgstr,
 * msgstr[N], "..." continuation lines, C escapes, # comments; fuzzy and
 * untranslated entries are skipped, the header entry too). name is used
 * in messages. Returns the catalogue, or NULL with "name:line: reason"
 * in err (n bytes): a syntax error, an unknown escape, text that is not
 * UTF-8, a msgid given twice, or a msgstr whose printf conversions
 * differ from its msgid's. The caller frees it with po_free. */
struct po *po_parse(const char *data, size_t len, const char *name,
	char *err, size_t n);
/* The same for a file. */
struct po *po_load(const char *path, char *err, size_t n);
void po_free(struct po *po);
/* The translation of msgid in context ctx (NULL: none), or NULL. Owned
 * by po. */
const char *po_get(const struct po *po, const char *ctx, const char *msgid);
/* How many translations po holds. */
size_t po_count(const struct po *po);

/* Loads dir/zh_CN.po as the process's catalogue (once, at start-up).
 * Returns 0, or -1 with "file:line: reason" in err. */
int i18n_init(const char *dir, char *err, size_t n);
void i18n_done(void);

/* msgid in lang: the catalogue's translation for LANG_ZH, else msgid
 * itself (English, or a string not yet translated). A format string
 * stays one (format_arg): the catalogue's conversions were checked
 * against the msgid's at load. */
const char *i18n_tr(const char *lang, const char *msgid)
	__attribute__((format_arg(2)));
/* The language of the formatted messages shared code writes while a
 * page checks a form (lib/submit.c, lib/upload.c): set by the page around
 * the check, NULL (English) otherwise, as for the APIs. A FastCGI
 * process serves one request at a time, so one setting per process is
 * one per request. */
void i18n_msg_lang(const char *lang);
/* fmt in that language, translated before it is filled in. */
const char *i18n_msg(const char *fmt) __attribute__((format_arg(1)));
#define TR(fmt) i18n_msg(fmt)

/* Marks a msgid for tools/i18n_check.py where the string is translated
 * later (tables of messages): expands to the string itself. */
#define N_(s) (s)

/* LANG_EN or LANG_ZH for a code ("en", "zh-CN"), or NULL when s is
 * neither. */
const char *i18n_lang(const char *s);
/* The language an Accept-Language header asks for: the highest q among
 * zh, zh-CN, zh-Hans* (LANG_ZH) and en* (LANG_EN); other languages do
 * not count; ties go to the first listed; none: LANG_EN. */
const char *i18n_accept(const char *header);

/* 1 when name is an IANA zone of the system's database (a file under
 * /usr/share/zoneinfo starting with TZif, named with letters, digits,
 * '/', '_', '-', '+'), 0 when not. "UTC" is one. */
int tz_valid(const char *name);

/* Converts a UTC time written "YYYY-MM-DD HH:MM[:SS]" (as the pages' SQL
 * formats them) into the same form in the zone currently set with
 * tz_use, into out (n bytes). Returns 0, or -1 when s is not such a
 * time (out then holds s unchanged). */
int tz_convert(const char *s, char *out, size_t n);
/* Makes zone (tz_valid's) the one tz_convert uses, until tz_use(NULL)
 * restores UTC. See i18n.c for why this sets the process's TZ. */
void tz_use(const char *zone);

#endif
