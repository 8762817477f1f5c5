-- Reverts usage_call_ids_only_where_given (SQLite), which changed nothing.
SELECT 1;
