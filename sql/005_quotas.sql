-- 005_quotas.sql - credits: each user has a balance, each job a cost
-- (charged when it is queued, given back once if it fails or is canceled
-- before it runs).

ALTER TABLE users
  ADD COLUMN IF NOT EXISTS credits BIGINT NOT NULL DEFAULT 1000;

ALTER TABLE jobs
  ADD COLUMN IF NOT EXISTS cost INT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS refunded TINYINT(1) NOT NULL DEFAULT 0;
