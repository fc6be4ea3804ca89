-- 014_batches.sql - batches from a CSV file (POST /batch): one job per
-- row, queued together, owned by the user as their jobs are. batch_row
-- is the row's number in the file (the header is row 1, so the first
-- job is row 2), which the batch page and its ZIP manifest name. Written
-- to be safe to run again.

CREATE TABLE IF NOT EXISTS batches (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  -- The uploaded file's name ("" when pasted), shown on the page.
  name VARCHAR(255) NOT NULL DEFAULT '',
  jobs INT UNSIGNED NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY batches_user (user_id, id),
  CONSTRAINT batches_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS batch_id BIGINT UNSIGNED NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS batch_row INT UNSIGNED NULL;
ALTER TABLE jobs ADD INDEX IF NOT EXISTS jobs_batch (batch_id, batch_row);
