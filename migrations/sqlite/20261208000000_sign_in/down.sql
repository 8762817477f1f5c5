ALTER TABLE navi_users DROP COLUMN sessions_not_before;
ALTER TABLE navi_users DROP COLUMN email_verified_at;
