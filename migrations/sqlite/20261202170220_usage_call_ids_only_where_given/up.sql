-- usage_call_ids_only_where_given (SQLite).
-- Its twin in migrations/postgres/20261202170220_usage_call_ids_only_where_given makes the unique
-- key of the calls' client ids hold only the calls that have one. Here that key is part of the
-- table's definition, and changing it would mean rebuilding the table of calls: it stays, and
-- this migration changes nothing. Either key refuses the same rows, since NULLs are distinct.
SELECT 1;
