-- 016_two_factor.sql - two-factor login: each account's TOTP secret
-- (sealed with [auth] totp_key, never stored in clear), its single-use
-- recovery codes (salted BLAKE2b digests), the second step of a login
-- waiting for its code, and the browsers remembered for 30 days (token
-- digests). Written to be safe to run again.

CREATE TABLE IF NOT EXISTS user_totp (
  user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  -- base64 of nonce || XChaCha20-Poly1305(secret), the user id bound in.
  secret_sealed VARCHAR(128) CHARACTER SET ascii NOT NULL,
  -- NULL while set up but not yet confirmed with a code.
  enabled_at DATETIME(3) NULL,
  -- The last 30-second step whose code was taken: a code works once.
  last_step BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  CONSTRAINT user_totp_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS recovery_codes (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  salt CHAR(32) CHARACTER SET ascii NOT NULL,
  code_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  used_at DATETIME(3) NULL,
  KEY recovery_codes_user (user_id),
  CONSTRAINT recovery_codes_user_fk FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A password accepted for an account with two-factor login: no session
-- yet, only this row, named by a short-lived cookie, used once.
CREATE TABLE IF NOT EXISTS login_pending (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  token_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  next VARCHAR(2048) NOT NULL DEFAULT '/',
  ip VARCHAR(45) NOT NULL DEFAULT '',
  tries INT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at DATETIME(3) NOT NULL,
  UNIQUE KEY login_pending_token (token_hash),
  KEY login_pending_user (user_id),
  CONSTRAINT login_pending_user_fk FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS trusted_devices (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  token_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  ip VARCHAR(45) NOT NULL DEFAULT '',
  user_agent VARCHAR(255) NOT NULL DEFAULT '',
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_used_at DATETIME(3) NULL,
  expires_at DATETIME(3) NOT NULL,
  UNIQUE KEY trusted_devices_token (token_hash),
  KEY trusted_devices_user (user_id),
  CONSTRAINT trusted_devices_user_fk FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- '1': administrators must turn two-factor login on before any other
-- page (the admin settings page).
INSERT IGNORE INTO settings (name, value) VALUES ('require_2fa_admins', '0');
