-- 010_inputs.sql - images as job inputs: img2img, inpainting (and
-- outpainting) and ControlNet. The images a user sent are checked on the
-- web side, normalised to PNG and stored beside the job's results
-- (ARTIFACTS/jobs/<id>/inputs/<kind>.png); job_inputs records each one.
-- The parameters are AUTOMATIC1111's: denoising_strength NULL is a
-- txt2img job; the inpainting ones only with a mask (or an outpaint);
-- controlnet_model NULL: no ControlNet. Written to be safe to run again.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS denoising_strength DOUBLE NULL
  AFTER hires_upscaler;
-- 0 just resize, 1 crop and resize, 2 resize and fill.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS resize_mode TINYINT NULL
  AFTER denoising_strength;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS mask_blur INT NULL
  AFTER resize_mode;
-- 0 fill, 1 original, 2 latent noise, 3 latent nothing.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS inpainting_fill TINYINT NULL
  AFTER mask_blur;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS inpaint_full_res TINYINT NULL
  AFTER inpainting_fill;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS inpaint_full_res_padding INT NULL
  AFTER inpaint_full_res;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS inpainting_mask_invert TINYINT NULL
  AFTER inpaint_full_res_padding;
-- Outpainting: pixels added on each side (the new area is the mask).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS outpaint_left INT NULL
  AFTER inpainting_mask_invert;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS outpaint_right INT NULL
  AFTER outpaint_left;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS outpaint_up INT NULL
  AFTER outpaint_right;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS outpaint_down INT NULL
  AFTER outpaint_up;
-- One ControlNet unit: a model of [paths] controlnets by name.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS controlnet_model VARCHAR(64)
  CHARACTER SET ascii COLLATE ascii_bin NULL AFTER outpaint_down;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS controlnet_weight DOUBLE NULL
  AFTER controlnet_model;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS controlnet_start DOUBLE NULL
  AFTER controlnet_weight;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS controlnet_end DOUBLE NULL
  AFTER controlnet_start;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS controlnet_preprocessor
  VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NULL
  AFTER controlnet_end;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS controlnet_low DOUBLE NULL
  AFTER controlnet_preprocessor;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS controlnet_high DOUBLE NULL
  AFTER controlnet_low;

CREATE TABLE IF NOT EXISTS job_inputs (
  job_id BIGINT UNSIGNED NOT NULL,
  kind ENUM('init', 'mask', 'control') NOT NULL,
  -- The storage key, relative to the artifacts directory.
  path VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  width INT NOT NULL,
  height INT NOT NULL,
  bytes INT UNSIGNED NOT NULL,
  sha256 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (job_id, kind),
  CONSTRAINT job_inputs_job_fk FOREIGN KEY (job_id) REFERENCES jobs (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
