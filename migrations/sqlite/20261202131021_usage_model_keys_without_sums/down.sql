-- Reverts usage_model_keys_without_sums (SQLite), which changed nothing.
-- Its twin in migrations/postgres/20261202131021_usage_model_keys_without_sums takes the sums
-- out of the by-model rollups' primary keys so that PostgreSQL updates them heap-only. These
-- SQLite tables are WITHOUT ROWID: a row lives in its key's b-tree and is updated in place, so
-- there is nothing to change.
SELECT 1;
