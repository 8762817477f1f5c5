-- usage_integer_columns (PostgreSQL).
-- Its twin in migrations/sqlite/20261203090200_usage_integer_columns makes every integer column
-- of the calls and the rollups refuse a non-integer, which SQLite otherwise stores silently (a
-- sum beyond 64 bits became a REAL). Here the columns are bigint, which holds only integers and
-- refuses an overflow: this migration changes nothing.
SELECT 1;
