-- 006_gallery.sql - sharing a job by link, deleting a job without losing
-- its place in the user's usage and quotas, and the job-time histograms
-- behind /metrics.

-- share_token: a random capability; whoever has /s/TOKEN sees the job's
-- images (NULL: not shared). deleted_at: the owner deleted the job; its
-- files, images and texts are gone, the row stays so the credits it used
-- and the jobs-per-day window still count it.
ALTER TABLE jobs
  ADD COLUMN IF NOT EXISTS share_token CHAR(43) CHARACTER SET ascii NULL,
  ADD COLUMN IF NOT EXISTS deleted_at DATETIME(3) NULL,
  ADD UNIQUE INDEX IF NOT EXISTS jobs_share (share_token);

-- Prometheus histograms kept by the render daemons (queue wait at the
-- first claim, render time of each finished job). One row per bucket
-- (bucket = upper bound index, non-cumulative), and bucket -1 holding the
-- count and the sum. Counters only grow: deleting jobs does not lower them.
CREATE TABLE IF NOT EXISTS job_histograms (
  metric VARCHAR(64) CHARACTER SET ascii NOT NULL,
  bucket INT NOT NULL,
  n BIGINT UNSIGNED NOT NULL DEFAULT 0,
  sum DOUBLE NOT NULL DEFAULT 0,
  PRIMARY KEY (metric, bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
