-- 023_status.sql - the public status page (/status, /api/v1/status,
-- /status/feed.atom) and the incidents administrators post to it
-- (/admin/incidents). Written to be safe to run again.

-- One incident: open while resolved_at is NULL (then the portal shows a
-- banner and /status lists it as current). components is the affected
-- components as a comma-separated list of names the status page shows
-- ("web", "queue", or a model's name); status is that of the latest
-- update. created_by is the administrator who opened it.
CREATE TABLE IF NOT EXISTS incidents (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  title VARCHAR(200) NOT NULL,
  components VARCHAR(500) NOT NULL DEFAULT '',
  severity ENUM('minor', 'major', 'critical') NOT NULL,
  status ENUM('investigating', 'identified', 'monitoring', 'resolved')
    NOT NULL DEFAULT 'investigating',
  created_by BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  resolved_at DATETIME(3) NULL,
  KEY incidents_open (resolved_at, created_at),
  CONSTRAINT incidents_creator_fk FOREIGN KEY (created_by)
    REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Its updates, the first being the opening message; each carries the
-- status it moved the incident to. The Atom feed and the status page
-- show them in order.
CREATE TABLE IF NOT EXISTS incident_updates (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  incident_id BIGINT UNSIGNED NOT NULL,
  status ENUM('investigating', 'identified', 'monitoring', 'resolved')
    NOT NULL,
  message TEXT NOT NULL,
  created_by BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY incident_updates_incident (incident_id, id),
  CONSTRAINT incident_updates_fk FOREIGN KEY (incident_id)
    REFERENCES incidents (id) ON DELETE CASCADE,
  CONSTRAINT incident_updates_author_fk FOREIGN KEY (created_by)
    REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The status page's figures read the jobs that finished in the last hour,
-- day and 90 days: by finished_at, not a scan of the whole table.
ALTER TABLE jobs ADD INDEX IF NOT EXISTS jobs_finished (finished_at);

-- A maintenance window an administrator schedules (/admin/maintenance):
-- from starts_at to ends_at (UTC) new submissions are refused with 503
-- and Retry-After (mode refuse) or queued but not claimed by any daemon
-- (mode hold); jobs already running finish. The status page lists the
-- windows not yet over and says "maintenance" during one; the portal's
-- banner warns a day ahead. canceled_at ends one early or calls it off.
CREATE TABLE IF NOT EXISTS maintenance_windows (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  title VARCHAR(200) NOT NULL,
  message TEXT NOT NULL,
  mode ENUM('refuse', 'hold') NOT NULL DEFAULT 'refuse',
  starts_at DATETIME(3) NOT NULL,
  ends_at DATETIME(3) NOT NULL,
  created_by BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  canceled_at DATETIME(3) NULL,
  KEY maintenance_due (canceled_at, ends_at),
  CONSTRAINT maintenance_creator_fk FOREIGN KEY (created_by)
    REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
