-- 026_output_format.sql - the file format a job's images are delivered in
-- (issue 29's high-precision export): "png" (the 8-bit PNG every job has),
-- "png16", "tiff16", "tiff32", "exr" or "exr16", made from the float
-- master kilnd keeps beside each PNG. The job's ZIP carries its images in
-- this format as well as the PNGs; a single download can still ask for
-- any (?format=). Written to be safe to run again.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS output_format
  VARCHAR(8) CHARACTER SET ascii NOT NULL DEFAULT 'png';
