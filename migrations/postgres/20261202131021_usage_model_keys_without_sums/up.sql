-- The sums by model leave the rollups' primary keys. With the sums in the key (INCLUDE), every
-- upsert that adds to a row changes its index entry, so PostgreSQL writes a new index tuple as
-- well as a new heap tuple; with the key alone the update is HOT (heap-only). A batch of 1000
-- calls spread over 90 days adds to about 1000 rows of each of the 15-minute and hourly rollups,
-- and measured with pgbench on the benchmark's shape a 1000-row upsert took 31 ms with the sums
-- included and 20 ms without. The dashboards read few rows of these tables (a day's rows, and
-- an hour or a quarter-hour at each edge of a local day), so the heap fetches that replace the
-- index-only scans cost less than the updates gain. The per-user tables, of which by_user reads
-- a row per user, keep their sums in the key.
ALTER TABLE navi_usage_by_model DROP CONSTRAINT navi_usage_by_model_pkey,
    ADD PRIMARY KEY (org_id, bucket, model);
ALTER TABLE navi_usage_by_model_hour DROP CONSTRAINT navi_usage_by_model_hour_pkey,
    ADD PRIMARY KEY (org_id, bucket, model);
ALTER TABLE navi_usage_by_model_day DROP CONSTRAINT navi_usage_by_model_day_pkey,
    ADD PRIMARY KEY (org_id, bucket, model);
