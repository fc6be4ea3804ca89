-- 018_key_rotation.sql - API key rotation and expiry. A rotated key keeps
-- its row (id, name, scopes, owner) and takes a new secret; the secret it
-- had stays valid, as the old_* columns, until old_valid_until, checked at
-- authentication. expires_at ends the key itself (NULL: never). Written to
-- be safe to run again.

ALTER TABLE api_keys
  ADD COLUMN IF NOT EXISTS expires_at DATETIME(3) NULL,
  ADD COLUMN IF NOT EXISTS rotated_at DATETIME(3) NULL,
  -- The secret before the last rotation, as prefix and key_hash are; NULL
  -- when there is none or it was ended at once (grace 0).
  ADD COLUMN IF NOT EXISTS old_prefix CHAR(13) CHARACTER SET ascii NULL,
  ADD COLUMN IF NOT EXISTS old_key_hash CHAR(64) CHARACTER SET ascii NULL,
  ADD COLUMN IF NOT EXISTS old_valid_until DATETIME(3) NULL,
  -- The old secret's last use since the rotation: whether scripts still
  -- send it, so the user knows when all have moved over.
  ADD COLUMN IF NOT EXISTS old_last_used_at DATETIME(3) NULL,
  ADD KEY IF NOT EXISTS api_keys_old_prefix (old_prefix);
