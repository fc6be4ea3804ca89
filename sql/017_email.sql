-- 017_email.sql - e-mail: each account's address and when it was
-- verified, the single-use tokens of verification and password-reset
-- links (SHA-256 digests, never the token), the outbox kilnd's postman
-- sends through the SMTP relay with retries, and the devices an account
-- has signed in from (digests of a user-agent and address-prefix
-- fingerprint), so a login from a new one is told by mail. Written to be
-- safe to run again.

ALTER TABLE users
  ADD COLUMN IF NOT EXISTS email VARCHAR(254) CHARACTER SET ascii NULL,
  ADD COLUMN IF NOT EXISTS email_verified_at DATETIME(3) NULL,
  ADD KEY IF NOT EXISTS users_email (email);

-- purpose 'verify': proves the address in email reaches the user (24 h);
-- 'reset': sets a new password (1 h), void once the password changed
-- after created_at.
CREATE TABLE IF NOT EXISTS email_tokens (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  purpose ENUM('verify', 'reset') NOT NULL,
  token_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  email VARCHAR(254) CHARACTER SET ascii NOT NULL,
  ip VARCHAR(45) NOT NULL DEFAULT '',
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at DATETIME(3) NOT NULL,
  used_at DATETIME(3) NULL,
  UNIQUE KEY email_tokens_token (token_hash),
  KEY email_tokens_user (user_id, purpose, created_at),
  CONSTRAINT email_tokens_user_fk FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The whole RFC 5322 message is built on the web side; the postman only
-- relays it, and blanks it once sent or given up (a reset link is in
-- it).
CREATE TABLE IF NOT EXISTS mail_outbox (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NULL,
  kind VARCHAR(32) NOT NULL,
  sender VARCHAR(254) CHARACTER SET ascii NOT NULL,
  recipient VARCHAR(254) CHARACTER SET ascii NOT NULL,
  message MEDIUMTEXT NOT NULL,
  status ENUM('pending', 'sent', 'failed') NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  claimed_by VARCHAR(128) NULL,
  lease_until DATETIME(3) NULL,
  last_error VARCHAR(512) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  sent_at DATETIME(3) NULL,
  KEY mail_outbox_due (status, next_attempt_at),
  KEY mail_outbox_user (user_id),
  CONSTRAINT mail_outbox_user_fk FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS known_devices (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  -- SHA-256 of user id, user agent and the address's /24 (IPv4) or /48.
  fingerprint CHAR(64) CHARACTER SET ascii NOT NULL,
  first_seen_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_seen_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY known_devices_fp (user_id, fingerprint),
  CONSTRAINT known_devices_user_fk FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
