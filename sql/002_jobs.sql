-- 002_jobs.sql - the job queue and what the render daemons record about it:
-- jobs (the queue itself: claimed with SELECT ... FOR UPDATE SKIP LOCKED),
-- their images, webhook deliveries (persisted so a restart drops none) and
-- render-time statistics per model and size.
-- Written to be safe to run again (IF NOT EXISTS).

ALTER TABLE users
  ADD COLUMN IF NOT EXISTS webhook_url VARCHAR(2048) NULL,
  ADD COLUMN IF NOT EXISTS webhook_secret VARCHAR(64) NULL;

CREATE TABLE IF NOT EXISTS jobs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NULL,
  status ENUM('queued', 'running', 'succeeded', 'failed', 'canceled')
    NOT NULL DEFAULT 'queued',
  priority INT NOT NULL DEFAULT 0,
  prompt TEXT NOT NULL,
  negative_prompt TEXT NOT NULL DEFAULT '',
  model VARCHAR(128) NOT NULL,
  width INT NOT NULL,
  height INT NOT NULL,
  steps INT NOT NULL,
  cfg_scale DOUBLE NOT NULL,
  sampler VARCHAR(32) NOT NULL,
  seed BIGINT UNSIGNED NOT NULL,
  batch_count INT NOT NULL DEFAULT 1,
  webhook_url VARCHAR(2048) NULL,
  -- the lease: who runs it and until when, renewed while it runs
  claimed_by VARCHAR(128) NULL,
  lease_until DATETIME(3) NULL,
  -- the daemon of the latest attempt (kept after the job ends)
  daemon VARCHAR(128) NULL,
  attempt INT NOT NULL DEFAULT 0,
  max_attempts INT NOT NULL DEFAULT 3,
  cancel_requested TINYINT(1) NOT NULL DEFAULT 0,
  -- progress over the whole batch: step of steps_total, seconds left
  step INT NOT NULL DEFAULT 0,
  steps_total INT NOT NULL DEFAULT 0,
  eta_s DOUBLE NULL,
  preview_path VARCHAR(1024) NULL,
  error TEXT NULL,
  render_s DOUBLE NULL,
  anomaly TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  started_at DATETIME(3) NULL,
  finished_at DATETIME(3) NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
    ON UPDATE CURRENT_TIMESTAMP(3),
  KEY jobs_queue (status, priority, created_at),
  KEY jobs_lease (status, lease_until),
  KEY jobs_user (user_id, created_at),
  CONSTRAINT jobs_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS job_images (
  job_id BIGINT UNSIGNED NOT NULL,
  idx INT NOT NULL,
  seed BIGINT UNSIGNED NOT NULL,
  path VARCHAR(1024) NOT NULL,
  width INT NOT NULL,
  height INT NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (job_id, idx),
  CONSTRAINT job_images_job_fk FOREIGN KEY (job_id) REFERENCES jobs (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  msg_id VARCHAR(64) NOT NULL,
  job_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NULL,
  event VARCHAR(32) NOT NULL,
  url VARCHAR(2048) NOT NULL,
  payload TEXT NOT NULL,
  status ENUM('pending', 'delivered', 'failed') NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  claimed_by VARCHAR(128) NULL,
  lease_until DATETIME(3) NULL,
  last_status INT NULL,
  last_error VARCHAR(512) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  delivered_at DATETIME(3) NULL,
  UNIQUE KEY webhook_msg (msg_id),
  KEY webhook_due (status, next_attempt_at),
  KEY webhook_job (job_id),
  CONSTRAINT webhook_job_fk FOREIGN KEY (job_id) REFERENCES jobs (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Welford's running mean and sum of squared deviations (m2) of the render
-- time per model and size; anomalies counts jobs over mean + 3 sigma.
CREATE TABLE IF NOT EXISTS render_stats (
  model VARCHAR(128) NOT NULL,
  width INT NOT NULL,
  height INT NOT NULL,
  steps INT NOT NULL,
  n BIGINT NOT NULL DEFAULT 0,
  mean DOUBLE NOT NULL DEFAULT 0,
  m2 DOUBLE NOT NULL DEFAULT 0,
  anomalies BIGINT NOT NULL DEFAULT 0,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
    ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (model, width, height, steps)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
