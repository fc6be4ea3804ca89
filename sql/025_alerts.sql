-- 025_alerts.sql - alert rules over what kiln measures (anomalous
-- renders, queue depth, oldest queued wait, daemons offline, failure
-- rate, free disk of the artifacts directory), evaluated by kilnd's
-- keeper (lib/alerts.c) and configured by admins at /admin/alerts; each
-- rule's incidents (firing, then resolved) are recorded once and told to
-- the operators by signed webhook and e-mail. Written to be safe to run
-- again.

-- One rule per measure, named as lib/alerts.c declares them. A rule
-- breaches when its value is above threshold (disk_free: below);
-- window_s is the span the value is measured over (anomalies, failure
-- rate) or the heartbeat age that counts as offline (daemon_offline);
-- it fires once it has breached for duration_s. state is where its
-- current incident stands: ok (none), pending (breaching since
-- pending_since, not yet for duration_s) or firing (told; its recovery
-- is told when it clears). incident counts the incidents fired so far,
-- so an incident's notices have ids no other incident shares.
CREATE TABLE IF NOT EXISTS alert_rules (
  name VARCHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  threshold DOUBLE NOT NULL,
  window_s INT NOT NULL DEFAULT 0,
  duration_s INT NOT NULL DEFAULT 0,
  state ENUM('ok', 'pending', 'firing') NOT NULL DEFAULT 'ok',
  pending_since DATETIME(3) NULL,
  value DOUBLE NULL,
  incident INT NOT NULL DEFAULT 0,
  fired_at DATETIME(3) NULL,
  resolved_at DATETIME(3) NULL,
  evaluated_at DATETIME(3) NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO alert_rules (name, threshold, window_s, duration_s)
VALUES
  -- any render over mean + 3 sd of its model and size in 15 minutes
  ('anomalies', 0, 900, 0),
  -- more than 50 jobs queued for 5 minutes
  ('queue_depth', 50, 0, 300),
  -- the oldest queued job waiting more than 10 minutes, for a minute
  ('oldest_wait', 600, 0, 60),
  -- any daemon not stopped whose heartbeat is over a minute old
  ('daemon_offline', 0, 60, 0),
  -- more than half the jobs ended in 15 minutes failed (5 at least)
  ('failure_rate', 0.5, 900, 300),
  -- under 10 % of the artifacts directory's file system free
  ('disk_free', 10, 0, 300);

-- The incidents told: one 'firing' and at most one 'resolved' row per
-- (rule, incident); the unique key makes a second telling impossible
-- even if two keepers raced past the lease.
CREATE TABLE IF NOT EXISTS alert_events (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  rule VARCHAR(32) CHARACTER SET ascii NOT NULL,
  incident INT NOT NULL,
  kind ENUM('firing', 'resolved') NOT NULL,
  value DOUBLE NULL,
  threshold DOUBLE NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY alert_events_once (rule, incident, kind),
  KEY alert_events_recent (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Site-wide chores one daemon does at a time (the alert evaluation):
-- holder keeps the row while it renews until; another daemon takes it
-- over once until has passed.
CREATE TABLE IF NOT EXISTS keeper_leases (
  name VARCHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  holder VARCHAR(128) NOT NULL,
  until DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Alert webhooks belong to no job: their deliveries have job_id NULL and
-- user_id NULL, so the courier signs them with the site's secret.
ALTER TABLE webhook_deliveries MODIFY job_id BIGINT UNSIGNED NULL;
