-- Reverts usage_integer_columns (PostgreSQL), which changed nothing.
SELECT 1;
