-- 009_hires.sql - the hires fix of a job: render at width x height,
-- enlarge by hires_scale (the latent, or the image with Lanczos or an
-- upscaler model of [paths] upscalers), then a second img2img pass at
-- hires_strength for hires_steps (0: steps) of the schedule, as
-- AUTOMATIC1111's enable_hr. hires_scale NULL: no hires fix.
-- Written to be safe to run again.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS hires_scale DOUBLE NULL
  AFTER loras;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS hires_strength DOUBLE NULL
  AFTER hires_scale;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS hires_steps INT NULL
  AFTER hires_strength;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS hires_upscaler VARCHAR(64)
  CHARACTER SET ascii COLLATE ascii_bin NULL AFTER hires_steps;
