-- 007_hardening.sql - a daemon that is warming up (compiling its kernels
-- before it claims work), a fair turn between users of one priority, and
-- render statistics kept per batch size.
-- Written to be safe to run again.

ALTER TABLE daemons MODIFY COLUMN state
  ENUM('starting', 'warming', 'idle', 'busy', 'stopping', 'stopped')
  NOT NULL DEFAULT 'starting';

-- When each user's job (user 0: jobs without an owner) was last claimed:
-- the claim takes, among queued jobs of the highest priority, one of the
-- user served longest ago, so one user's hundred jobs cannot starve
-- another's one (round-robin between users, as a fair queue does).
CREATE TABLE IF NOT EXISTS queue_turns (
  user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  last_claim DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A batch of four renders its images one after another but shares the
-- text encoding and the model's warm caches: its per-image time is its
-- own distribution, so the key carries the batch size.
ALTER TABLE render_stats
  ADD COLUMN IF NOT EXISTS batch INT NOT NULL DEFAULT 1 AFTER steps;
ALTER TABLE render_stats DROP PRIMARY KEY,
  ADD PRIMARY KEY (model, width, height, steps, batch);
