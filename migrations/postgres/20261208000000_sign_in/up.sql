-- sign_in: people sign in with an email Navi verified (a link to the mailbox, or an identity
-- provider trusted for the email's domain). Users made before it are unverified (NULL).
ALTER TABLE navi_users ADD COLUMN email_verified_at TIMESTAMP;
-- Sessions (kept in the cache) made before this instant are over: "sign out everywhere", and the
-- first verification of an email, which also revokes the keys made before it.
ALTER TABLE navi_users ADD COLUMN sessions_not_before TIMESTAMP;
