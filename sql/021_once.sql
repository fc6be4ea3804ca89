-- 021_once.sql - secrets shown once on the page a POST redirects to
-- (POST-redirect-GET): a new API key, a rotated key's secret, recovery
-- codes, a password an administrator set, an invitation code. The row
-- holds the secret sealed (libsodium secretbox) under a random key of its
-- own that only the browser holds, in a minute-long HttpOnly cookie
-- limited to the page's path: neither the row nor the cookie alone
-- reveals it. The row belongs to the session that made it (gone with it),
-- is deleted when shown and, unshown, after five minutes by whoever reads
-- or writes the table next (lib/once.c). Written to be safe to run again.

CREATE TABLE IF NOT EXISTS once_secrets (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  session_id BIGINT UNSIGNED NOT NULL,
  -- What the secret is ("key", "recovery", ...) and the page that shows
  -- it: a row is shown by that page only.
  purpose VARCHAR(32) CHARACTER SET ascii NOT NULL,
  path VARCHAR(128) CHARACTER SET ascii NOT NULL,
  -- base64url of the nonce and the secretbox of the text.
  sealed VARCHAR(2048) CHARACTER SET ascii NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at DATETIME(3) NOT NULL,
  KEY once_expires (expires_at),
  CONSTRAINT once_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
