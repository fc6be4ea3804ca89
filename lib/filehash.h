/* filehash.h - the SHA-256 hashes AUTOMATIC1111 shows for checkpoints,
 * LoRAs and embeddings ("Model hash", "Lora hashes", the hash of
 * /sdapi/v1/sd-models), computed once per file and cached in the
 * database (table file_hashes) keyed by the file's size and modification
 * time, as A1111 keeps cache.json keyed by mtime: a changed file is
 * hashed again, an unchanged one never. Only kilnd and kiln-admin hash;
 * the web programs read the cache and show no hash for a file not
 * hashed yet, never reading gigabytes inside a request. */
#ifndef KILN_FILEHASH_H
#define KILN_FILEHASH_H

#include <stddef.h>

struct db;

#define HASH_HEX 64
/* AUTOMATIC1111's short forms: a checkpoint's "Model hash" (Civitai's
 * AutoV2) is the first 10 hex digits; a LoRA's in "Lora hashes" and an
 * embedding's in "TI hashes" the first 12. */
#define HASH_SHORT_MODEL 10
#define HASH_SHORT_NET 12

enum hash_what {
	HASH_FILE,	/* the whole file: checkpoints, embeddings */
	HASH_ADDNET,	/* what follows a safetensors header: LoRAs (kohya
			 * sd-scripts' and A1111's addnet_hash_safetensors) */
};

/* What the cache checks a file by. */
struct file_stamp {
	unsigned long long size;
	long long mtime_ns;
};

/* The stamp of the file at path. Returns 0, or -1 (errno set). */
int file_stamp_of(const char *path, struct file_stamp *st);

/* The SHA-256 of the file at path (w: all of it, or what follows its
 * safetensors header) as 64 lower-case hex digits in hex. Returns 0, or
 * -1 with a message naming the path in err. */
int file_sha256(const char *path, enum hash_what w, char hex[HASH_HEX + 1],
	char *err, size_t errlen);

/* The hash to compute for a kind ("checkpoint", "lora", "embedding"). */
enum hash_what hash_what_of(const char *kind);

/* The cached hash of (kind, name) into hex when the row's stamp is st.
 * Returns 1 when found, 0 when there is none or it is stale, -1 on a
 * database error. */
int hash_cache_get(struct db *db, const char *kind, const char *name,
	const struct file_stamp *st, char hex[HASH_HEX + 1]);

/* Records hex as the hash of (kind, name) at stamp st. Returns 0 or -1. */
int hash_cache_put(struct db *db, const char *kind, const char *name,
	const struct file_stamp *st, const char *hex);

/* The hash of (kind, name), the file at path: the cached one, else
 * computed now (seconds for a checkpoint) and cached. *computed says
 * which. Returns 0, or -1 with a message in err (the file does not read,
 * or the database failed). */
int hash_cache_ensure(struct db *db, const char *kind, const char *name,
	const char *path, char hex[HASH_HEX + 1], int *computed, char *err,
	size_t errlen);

/* Every cached hash of kind, for a page that lists many files: one
 * query, then hash_rows_find per file. */
struct hash_row {
	char name[65];
	struct file_stamp st;
	char hex[HASH_HEX + 1];
};

/* Returns the number of rows with *rows (free()), or -1 on a database
 * error. */
long hash_cache_list(struct db *db, const char *kind, struct hash_row **rows);

/* The hash of name among rows when its stamp is st, or NULL. */
const char *hash_rows_find(const struct hash_row *rows, long n,
	const char *name, const struct file_stamp *st);

#endif
