-- 011_sdapi_options.sql - what an account set through AUTOMATIC1111's
-- POST /sdapi/v1/options. A1111 keeps one set of options for its one
-- user; kiln keeps them per account, so one client switching the model
-- does not switch it for everyone. Only the options kiln honours are
-- kept: the model txt2img renders with when the request's
-- override_settings names none (NULL: the site's default model).
-- Written to be safe to run again.

CREATE TABLE IF NOT EXISTS sdapi_options (
  user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  sd_model_checkpoint VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin
    NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
    ON UPDATE CURRENT_TIMESTAMP(3),
  CONSTRAINT sdapi_options_user_fk FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
