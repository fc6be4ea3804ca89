-- 003_accounts.sql - sessions, API keys, login throttling, invitations and
-- the audit log. Tokens and keys are stored only as SHA-256 hex digests;
-- the clear values exist in the user's browser or script and nowhere else.

CREATE TABLE IF NOT EXISTS sessions (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  token_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  -- The synchronizer token every form of this session carries.
  csrf CHAR(43) CHARACTER SET ascii NOT NULL,
  ip VARCHAR(45) NOT NULL DEFAULT '',
  user_agent VARCHAR(255) NOT NULL DEFAULT '',
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_seen_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at DATETIME(3) NOT NULL,
  UNIQUE KEY sessions_token (token_hash),
  KEY sessions_user (user_id),
  CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS api_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(64) NOT NULL,
  -- "kiln_" and the first 8 characters of the secret: shown in lists and
  -- used to find the row; the digest is then compared in constant time.
  prefix CHAR(13) CHARACTER SET ascii NOT NULL,
  key_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  scopes SET('read', 'generate', 'admin') NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_used_at DATETIME(3) NULL,
  last_used_ip VARCHAR(45) NOT NULL DEFAULT '',
  revoked_at DATETIME(3) NULL,
  KEY api_keys_prefix (prefix),
  KEY api_keys_user (user_id),
  CONSTRAINT api_keys_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Failed logins per account name (known or not, so a lockout says nothing
-- about whether the account exists) and per client address.
CREATE TABLE IF NOT EXISTS login_throttle (
  kind ENUM('user', 'ip') NOT NULL,
  subject VARCHAR(128) NOT NULL,
  failures INT NOT NULL DEFAULT 0,
  window_start DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  locked_until DATETIME(3) NULL,
  PRIMARY KEY (kind, subject)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS invites (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  note VARCHAR(128) NOT NULL DEFAULT '',
  created_by BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at DATETIME(3) NOT NULL,
  used_by BIGINT UNSIGNED NULL,
  used_at DATETIME(3) NULL,
  UNIQUE KEY invites_code (code_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Who did what, from where. Names are copied so the log still reads after
-- an account is renamed or deleted.
CREATE TABLE IF NOT EXISTS audit_log (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  actor_id BIGINT UNSIGNED NULL,
  actor VARCHAR(64) NOT NULL DEFAULT '',
  ip VARCHAR(45) NOT NULL DEFAULT '',
  action VARCHAR(32) NOT NULL,
  target_id BIGINT UNSIGNED NULL,
  target VARCHAR(64) NOT NULL DEFAULT '',
  detail VARCHAR(512) NOT NULL DEFAULT '',
  KEY audit_at (at),
  KEY audit_action (action),
  KEY audit_target (target_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE users
  ADD COLUMN IF NOT EXISTS last_login_at DATETIME(3) NULL,
  ADD COLUMN IF NOT EXISTS password_changed_at DATETIME(3) NULL;
