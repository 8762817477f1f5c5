-- api_keys_rotated_once: a key has at most one successor. Rotation checks that under the lock of
-- its user's keys; this index is the backstop.
CREATE UNIQUE INDEX navi_api_keys_rotated_from_key ON navi_api_keys (rotated_from)
    WHERE rotated_from IS NOT NULL;
