-- by_user reads the edges of a range (from its ends to the nearest UTC midnights) from sums per
-- org, user and six UTC hours (00:00, 06:00, 12:00, 18:00), and the raw calls within three hours of
-- those, instead of per UTC hour: a busy org's hourly rollup held about a row per call (1000
-- users, 24 hours a day), so it cost an upsert per call at ingest and as many rows to read as the
-- calls themselves. Backfilled from the hourly rollup, which it replaces.
CREATE TABLE navi_usage_by_user_6h (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, user_id)
) WITHOUT ROWID;

INSERT INTO navi_usage_by_user_6h (org_id, bucket, user_id, requests, prompt_tokens,
                                   completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, bucket - ((bucket % 21600) + 21600) % 21600, user_id, SUM(requests),
       SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_micros), SUM(latency_sum_ms)
FROM navi_usage_by_user_hour
GROUP BY org_id, bucket - ((bucket % 21600) + 21600) % 21600, user_id;

DROP TABLE navi_usage_by_user_hour;
