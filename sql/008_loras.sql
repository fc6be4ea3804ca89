-- 008_loras.sql - the LoRAs a job applies, and the hashes of model,
-- LoRA and embedding files that AUTOMATIC1111 shows.
-- Written to be safe to run again.

-- A JSON array of {"name", "weight", "unet_weight", "source"} written
-- by lib/loras.c at submission: the job's "loras" field (source
-- "field") and the <lora:NAME:WEIGHT> tags of its prompt (source
-- "prompt"), which itself stays as it was typed. NULL: no LoRA.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS loras TEXT NULL AFTER sampler;

-- Hashing a checkpoint of several GB takes seconds, so each file is
-- hashed once, by kilnd or kiln-admin, and kept here keyed by its size
-- and modification time, as AUTOMATIC1111 keeps its cache.json keyed by
-- mtime: a changed file is hashed again, and the web programs only read
-- this (no hash is shown for a file not hashed yet). sha256 is what
-- AUTOMATIC1111 hashes for the kind: the whole file for checkpoints and
-- embeddings, the bytes after the safetensors header for LoRAs
-- (kohya's "addnet" hash). Names are the files' names less
-- .safetensors, compared byte for byte as the file system does.
CREATE TABLE IF NOT EXISTS file_hashes (
  kind ENUM('checkpoint', 'lora', 'embedding') NOT NULL,
  name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  size BIGINT UNSIGNED NOT NULL,
  mtime_ns BIGINT NOT NULL,
  sha256 CHAR(64) CHARACTER SET ascii NOT NULL,
  hashed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
    ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (kind, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
