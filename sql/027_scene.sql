-- 027_scene.sql - scene manifests (docs/manifest.md) and the presets
-- they name. A preset is versioned data: editing one adds a row with the
-- next version, so the words an old job was compiled from stay readable
-- and re-translating its manifest gives the same prompt. owner_id NULL:
-- a site preset (admins manage them), else the user's own. A job made
-- from a manifest keeps it (manifest: the JSON as submitted, after
-- validation) and the preset versions it used (manifest_presets: a JSON
-- array of {"kind", "slug", "version", "owner"}). Written to be safe to
-- run again.

CREATE TABLE IF NOT EXISTS presets (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind ENUM('style', 'lens', 'lighting', 'material') NOT NULL,
  slug VARCHAR(48) CHARACTER SET ascii NOT NULL,
  version INT UNSIGNED NOT NULL,
  owner_id BIGINT UNSIGNED NULL,
  -- NULL is never equal to NULL in a UNIQUE key: site presets are
  -- owner 0 here, so each (kind, owner, slug, version) is one row.
  owner_key BIGINT UNSIGNED AS (COALESCE(owner_id, 0)) PERSISTENT,
  name VARCHAR(80) NOT NULL,
  -- {"prompt", "negative", and for a style "steps", "cfg_scale",
  -- "sampler"}, checked by lib/manifest.c's preset_body_parse.
  body TEXT NOT NULL,
  created_by BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  -- Deleting hides every version from lists and new manifests; the
  -- rows stay for the jobs that name them.
  deleted_at DATETIME(3) NULL,
  UNIQUE KEY presets_version (kind, owner_key, slug, version),
  KEY presets_owner (owner_id),
  CONSTRAINT presets_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS manifest LONGTEXT NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS manifest_presets TEXT NULL;

-- The site presets, version 1, one per line (tests/unit/test_manifest.c
-- reads these lines to check the translator against them).
INSERT IGNORE INTO presets (kind, slug, version, owner_id, name, body) VALUES
  ('style', 'e-commerce', 1, NULL, 'E-commerce', '{"prompt": "professional e-commerce product photograph, clean seamless white background, evenly lit, sharp focus, true-to-life colours", "negative": "clutter, busy background, harsh shadows, watermark, text", "steps": 30, "cfg_scale": 7, "sampler": "dpmpp_2m"}'),
  ('style', 'editorial', 1, NULL, 'Editorial', '{"prompt": "editorial magazine photograph, artful composition, natural skin tones, subtle film grain", "negative": "flat lighting, stock photo look, oversaturated", "steps": 30, "cfg_scale": 6.5, "sampler": "dpmpp_2m_karras"}'),
  ('style', 'social-media', 1, NULL, 'Social media', '{"prompt": "vibrant lifestyle photo for social media, bold colours, eye-catching, trending aesthetic", "negative": "dull colours, low contrast, blurry", "steps": 25, "cfg_scale": 7, "sampler": "euler_a"}'),
  ('style', 'catalogue', 1, NULL, 'Catalogue', '{"prompt": "catalogue product shot, neutral grey backdrop, consistent soft lighting, accurate proportions", "negative": "distortion, dramatic shadows, props", "steps": 28, "cfg_scale": 7, "sampler": "dpmpp_2m"}'),
  ('style', 'cinematic', 1, NULL, 'Cinematic', '{"prompt": "cinematic still, anamorphic look, dramatic contrast, colour graded", "negative": "flat, amateur snapshot, overexposed", "steps": 30, "cfg_scale": 6, "sampler": "dpmpp_2m_karras"}'),
  ('style', 'flat-lay', 1, NULL, 'Flat lay', '{"prompt": "flat lay arrangement seen from directly above, tidy spacing, styled props", "negative": "perspective distortion, messy arrangement", "steps": 28, "cfg_scale": 7, "sampler": "euler_a"}'),
  ('lens', '24mm-wide', 1, NULL, '24 mm wide', '{"prompt": "24mm wide-angle lens, expansive field of view, deep depth of field", "negative": "fisheye distortion"}'),
  ('lens', '50mm', 1, NULL, '50 mm', '{"prompt": "50mm standard lens, natural perspective"}'),
  ('lens', '85mm-portrait', 1, NULL, '85 mm portrait', '{"prompt": "85mm portrait lens, shallow depth of field, creamy bokeh, flattering compression"}'),
  ('lens', '200mm-tele', 1, NULL, '200 mm tele', '{"prompt": "200mm telephoto lens, strong background compression, isolated subject", "negative": "wide-angle distortion"}'),
  ('lens', '100mm-macro', 1, NULL, '100 mm macro', '{"prompt": "100mm macro lens, extreme close detail, razor-thin focus plane"}'),
  ('lighting', 'three-point', 1, NULL, 'Three-point', '{"prompt": "three-point studio lighting with key, fill and back light"}'),
  ('lighting', 'rim', 1, NULL, 'Rim', '{"prompt": "rim lighting outlining the subject against a dark background"}'),
  ('lighting', 'rembrandt', 1, NULL, 'Rembrandt', '{"prompt": "Rembrandt lighting, triangle of light on the shadow-side cheek, moody chiaroscuro"}'),
  ('lighting', 'softbox', 1, NULL, 'Softbox', '{"prompt": "large softbox lighting, soft wrap-around light, gentle shadows"}'),
  ('lighting', 'golden-hour', 1, NULL, 'Golden hour', '{"prompt": "golden hour sunlight, warm low sun, long soft shadows"}'),
  ('lighting', 'blue-hour', 1, NULL, 'Blue hour', '{"prompt": "blue hour twilight, cool ambient light, deep blue sky"}'),
  ('lighting', 'noon', 1, NULL, 'Noon', '{"prompt": "bright midday sun, high overhead light, crisp short shadows"}'),
  ('material', 'metal', 1, NULL, 'Metal', '{"prompt": "brushed metal surface with crisp specular highlights"}'),
  ('material', 'fabric', 1, NULL, 'Fabric', '{"prompt": "soft woven fabric with visible texture and natural folds"}'),
  ('material', 'glass', 1, NULL, 'Glass', '{"prompt": "clear glass with refractions and clean reflections", "negative": "smudges, fingerprints"}'),
  ('material', 'wood', 1, NULL, 'Wood', '{"prompt": "natural wood with visible grain"}'),
  ('material', 'leather', 1, NULL, 'Leather', '{"prompt": "supple leather with fine pores and stitched seams"}'),
  ('material', 'ceramic', 1, NULL, 'Ceramic', '{"prompt": "glazed ceramic with a smooth satin sheen"}'),
  ('material', 'plastic', 1, NULL, 'Plastic', '{"prompt": "matte moulded plastic, clean edges"}'),
  ('material', 'stone', 1, NULL, 'Stone', '{"prompt": "polished stone with natural veining"}');
