-- 020_explore.sql - the public gallery (/explore) and its moderation: the
-- images their owners published, the reports signed-in users make about
-- them, and the moderator role between user and admin. Written to be safe
-- to run again.

-- A moderator works the report queue (/admin/reports): hides, restores,
-- dismisses and bans ordinary users; the admin pages stay an admin's.
ALTER TABLE users
  MODIFY role ENUM('admin', 'moderator', 'user') NOT NULL DEFAULT 'user';

-- One row per image ever published. Unpublishing clears published_at and
-- keeps the row, so a hidden image stays hidden (republishing it is
-- refused) and its reports keep their image. The prompt is read from the
-- job, and shown (and searched) only when show_prompt says so; anonymous
-- shows "anonymous" for the author. hidden_by is the moderator's user id.
-- user_id is the owner (the data export and deletion find rows by it).
CREATE TABLE IF NOT EXISTS published_images (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id BIGINT UNSIGNED NOT NULL,
  idx INT NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  show_prompt TINYINT(1) NOT NULL DEFAULT 1,
  anonymous TINYINT(1) NOT NULL DEFAULT 0,
  published_at DATETIME(3) NULL,
  hidden_at DATETIME(3) NULL,
  hidden_by BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY published_image (job_id, idx),
  KEY published_list (published_at, id),
  KEY published_user (user_id),
  CONSTRAINT published_image_fk FOREIGN KEY (job_id, idx)
    REFERENCES job_images (job_id, idx) ON DELETE CASCADE,
  CONSTRAINT published_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE,
  CONSTRAINT published_hider_fk FOREIGN KEY (hidden_by) REFERENCES users (id)
    ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A report about a published image by a signed-in user (reporter_id; the
-- data export and deletion find rows by it). open_one is 1 while the
-- report is open and NULL after: the unique key allows one open report
-- per user and image, and any number of closed ones.
CREATE TABLE IF NOT EXISTS image_reports (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  published_id BIGINT UNSIGNED NOT NULL,
  reporter_id BIGINT UNSIGNED NOT NULL,
  reason ENUM('spam', 'sexual', 'violence', 'hate', 'illegal', 'copyright',
    'other') NOT NULL,
  detail VARCHAR(500) NOT NULL DEFAULT '',
  status ENUM('open', 'dismissed', 'actioned') NOT NULL DEFAULT 'open',
  open_one TINYINT AS (IF(status = 'open', 1, NULL)) PERSISTENT,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  resolved_at DATETIME(3) NULL,
  resolved_by BIGINT UNSIGNED NULL,
  UNIQUE KEY report_open_once (published_id, reporter_id, open_one),
  KEY report_status (status, published_id),
  KEY report_reporter (reporter_id),
  CONSTRAINT report_image_fk FOREIGN KEY (published_id)
    REFERENCES published_images (id) ON DELETE CASCADE,
  CONSTRAINT report_reporter_fk FOREIGN KEY (reporter_id)
    REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT report_resolver_fk FOREIGN KEY (resolved_by)
    REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
