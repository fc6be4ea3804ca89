-- 028_projects.sql - projects (issue 29): named collections of jobs and
-- of scene manifests, the manifests kept as numbered versions per shot.
-- Written to be safe to run again.

-- A project. user_id made it; team_id, when set, shares it with that
-- team (its owners and members read and write, its viewers read), else
-- it is user_id's alone. Deleting a project keeps its jobs.
CREATE TABLE IF NOT EXISTS projects (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  team_id BIGINT UNSIGNED NULL,
  name VARCHAR(100) NOT NULL,
  description VARCHAR(2000) NOT NULL DEFAULT '',
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
    ON UPDATE CURRENT_TIMESTAMP(3),
  KEY projects_user (user_id, id),
  KEY projects_team (team_id, id),
  CONSTRAINT projects_user_fk FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE,
  -- A team gone leaves the project to its maker.
  CONSTRAINT projects_team_fk FOREIGN KEY (team_id)
    REFERENCES teams (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The jobs in a project: a job may be in several projects; the row only
-- links, so a job's own access rules (teams.h) still decide who sees
-- its images.
CREATE TABLE IF NOT EXISTS project_jobs (
  project_id BIGINT UNSIGNED NOT NULL,
  job_id BIGINT UNSIGNED NOT NULL,
  added_by BIGINT UNSIGNED NULL,
  added_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (project_id, job_id),
  KEY project_jobs_job (job_id),
  CONSTRAINT project_jobs_project_fk FOREIGN KEY (project_id)
    REFERENCES projects (id) ON DELETE CASCADE,
  CONSTRAINT project_jobs_job_fk FOREIGN KEY (job_id)
    REFERENCES jobs (id) ON DELETE CASCADE,
  CONSTRAINT project_jobs_user_fk FOREIGN KEY (added_by)
    REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A shot's manifest versions: version counts from 1 per (project,
-- shot); manifest is the JSON object as submitted (checked to be one,
-- at most 64 KiB); job_id the job rendered from it, when one was.
CREATE TABLE IF NOT EXISTS project_manifests (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  project_id BIGINT UNSIGNED NOT NULL,
  shot VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  version INT UNSIGNED NOT NULL,
  manifest MEDIUMTEXT NOT NULL,
  note VARCHAR(500) NOT NULL DEFAULT '',
  job_id BIGINT UNSIGNED NULL,
  author_id BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY project_manifests_version (project_id, shot, version),
  CONSTRAINT project_manifests_project_fk FOREIGN KEY (project_id)
    REFERENCES projects (id) ON DELETE CASCADE,
  CONSTRAINT project_manifests_job_fk FOREIGN KEY (job_id)
    REFERENCES jobs (id) ON DELETE SET NULL,
  CONSTRAINT project_manifests_author_fk FOREIGN KEY (author_id)
    REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
