-- 024_teams.sql - teams (issue 27): members with roles, a shared credit
-- pool and an optional quota; jobs made for a team. Written to be safe
-- to run again.

-- A team. credits is its pool: a job made for the team is charged here,
-- not to its maker, and refunded here. max_queued, when set, bounds the
-- team's jobs queued or running at once (on top of each maker's tier).
CREATE TABLE IF NOT EXISTS teams (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  credits BIGINT NOT NULL DEFAULT 0,
  max_queued INT NULL,
  created_by BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  CONSTRAINT teams_creator_fk FOREIGN KEY (created_by)
    REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Who is in a team, and as what: an owner manages the team and may
-- cancel or delete any of its jobs; a member makes jobs for it; a viewer
-- only sees them. A row gone (left, removed) is access gone: access to
-- team jobs is decided from this table at each request.
CREATE TABLE IF NOT EXISTS team_members (
  team_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  role ENUM('owner', 'member', 'viewer') NOT NULL DEFAULT 'member',
  added_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (team_id, user_id),
  KEY team_members_user (user_id),
  CONSTRAINT team_members_team_fk FOREIGN KEY (team_id)
    REFERENCES teams (id) ON DELETE CASCADE,
  CONSTRAINT team_members_user_fk FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The team a job was made for (NULL: the maker's own). user_id stays
-- the maker: a job is always its maker's, whatever becomes of the team.
ALTER TABLE jobs
  ADD COLUMN IF NOT EXISTS team_id BIGINT UNSIGNED NULL,
  ADD KEY IF NOT EXISTS jobs_team (team_id, id);

-- Team events (team.member_added) are about no job.
ALTER TABLE webhook_deliveries MODIFY job_id BIGINT UNSIGNED NULL;
