-- 015_user_prefs.sql - each user's language and time zone, chosen on
-- /account or with the footer's switch. NULL: not chosen (the browser's
-- Accept-Language decides the language; times show in UTC). language is
-- one of the portal's codes ('en', 'zh-CN'), time_zone an IANA name the
-- portal checked against the system's zone database. Written to be safe
-- to run again.

ALTER TABLE users ADD COLUMN IF NOT EXISTS language VARCHAR(8)
  CHARACTER SET ascii COLLATE ascii_bin NULL;
ALTER TABLE users ADD COLUMN IF NOT EXISTS time_zone VARCHAR(64)
  CHARACTER SET ascii COLLATE ascii_bin NULL;
