-- 004_limits.sql - Idempotency-Key on job submission (the same key and
-- body within 24 hours give the same job back) and rate-limit buckets.

CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id BIGINT UNSIGNED NOT NULL,
  idem_key VARCHAR(128) CHARACTER SET ascii NOT NULL,
  -- SHA-256 of the request body: another body under the same key is a
  -- client bug, answered 409.
  body_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  -- NULL while the first request is still making its job.
  job_id BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, idem_key),
  KEY idempotency_age (created_at),
  CONSTRAINT idempotency_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Token buckets for rate limits (submissions per user and address, logins
-- per address), shared by every web process.
CREATE TABLE IF NOT EXISTS rate_buckets (
  bucket VARCHAR(160) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  tokens DOUBLE NOT NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB;
