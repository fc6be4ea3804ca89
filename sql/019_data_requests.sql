-- 019_data_requests.sql - "your data": exports of everything kiln holds
-- about an account, asked for on /account/data (or by an administrator
-- for a user) and made in the background by a render daemon's courier
-- thread; each is a ZIP in the artifacts store (exports/<id>-<token>.zip)
-- that whoever asked downloads once, or that expires. Deleting an account
-- (lib/accountdel.c) needs no table: it removes the rows and files and
-- pseudonymises the account's audit entries in place.
-- Written to be safe to run again.

CREATE TABLE IF NOT EXISTS data_exports (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  -- Whose data.
  user_id BIGINT UNSIGNED NOT NULL,
  -- Who asked and may download it: the user, or an administrator.
  requested_by BIGINT UNSIGNED NOT NULL,
  status ENUM('queued', 'running', 'ready', 'failed', 'downloaded',
    'expired') NOT NULL DEFAULT 'queued',
  -- The daemon making it and until when (a dead one's work is taken
  -- over when the lease runs out).
  claimed_by VARCHAR(128) NULL,
  lease_until DATETIME(3) NULL,
  -- The storage key of the ZIP while it is ready.
  path VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL,
  bytes BIGINT UNSIGNED NULL,
  sha256 CHAR(64) CHARACTER SET ascii NULL,
  files INT NULL,
  error VARCHAR(512) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  finished_at DATETIME(3) NULL,
  -- A ready ZIP is removed at this time if nobody downloaded it.
  expires_at DATETIME(3) NULL,
  downloaded_at DATETIME(3) NULL,
  KEY data_exports_user (user_id, id),
  KEY data_exports_requested (requested_by, id),
  KEY data_exports_due (status, lease_until),
  CONSTRAINT data_exports_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE,
  CONSTRAINT data_exports_requested_fk FOREIGN KEY (requested_by)
    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
