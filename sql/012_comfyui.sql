-- 012_comfyui.sql - ComfyUI's API over kiln jobs. A prompt sent to
-- POST /comfyui/prompt is an ordinary job; comfy_prompts keeps what
-- ComfyUI's /history and /queue give back (its prompt_id, number, the
-- workflow as sent, the client's extra_data and its output nodes).
-- comfy_uploads: images sent to /comfyui/upload/image, by the name
-- LoadImage takes, one namespace per account; the file is checked and
-- stored as a job input is (uploads/<user>/<sha256>.png). Written to be
-- safe to run again.

CREATE TABLE IF NOT EXISTS comfy_prompts (
  prompt_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  job_id BIGINT UNSIGNED NOT NULL,
  workflow MEDIUMTEXT NOT NULL,
  extra_data TEXT NOT NULL,
  -- A JSON array of the output node ids, ComfyUI's outputs_to_execute.
  outputs TEXT NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (prompt_id),
  UNIQUE KEY comfy_prompts_job (job_id),
  KEY comfy_prompts_user (user_id, job_id),
  CONSTRAINT comfy_prompts_job_fk FOREIGN KEY (job_id) REFERENCES jobs (id)
    ON DELETE CASCADE,
  CONSTRAINT comfy_prompts_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS comfy_uploads (
  user_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  path VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  width INT NOT NULL,
  height INT NOT NULL,
  bytes INT UNSIGNED NOT NULL,
  sha256 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, name),
  CONSTRAINT comfy_uploads_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
