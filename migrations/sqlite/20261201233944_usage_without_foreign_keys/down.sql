-- Undoes usage_without_foreign_keys (SQLite). Its twin in migrations/postgres/20261201233944_usage_without_foreign_keys drops
-- the foreign keys of the calls and their rollups, which PostgreSQL checks row by row at a third of a
-- batch's cost. SQLite checks them in-process at a fraction of that, and dropping one would mean
-- rebuilding the table: they stay, and this migration changes nothing.
SELECT 1;
