-- 013_upscale.sql - upscale-only jobs, AUTOMATIC1111's extras: no
-- diffusion, the init image (job_inputs) made larger by an upscaler
-- model of [paths] upscalers (or Lanczos) as kiln-render upscale and
-- the hires fix do. width x height is the image delivered; the daemon
-- upscales the init image by upscale_by, int(side x upscale_by), and
-- centres that on width x height when they differ (A1111's "crop to").
-- model holds the upscaler's name, steps 1 (the one pass). kind
-- 'generate' is every other job. Written to be safe to run again.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS kind
  ENUM('generate', 'upscale') NOT NULL DEFAULT 'generate' AFTER status;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS upscaler VARCHAR(64)
  CHARACTER SET ascii COLLATE ascii_bin NULL AFTER controlnet_high;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS upscale_by DOUBLE NULL
  AFTER upscaler;
