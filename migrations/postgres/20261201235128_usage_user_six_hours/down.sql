-- Back to sums per org, UTC hour and user, rebuilt from the calls.
CREATE TABLE navi_usage_by_user_hour (
    org_id            VARCHAR(64)  NOT NULL,
    bucket            BIGINT       NOT NULL,
    user_id           VARCHAR(64)  NOT NULL,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, user_id)
        INCLUDE (requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
);

INSERT INTO navi_usage_by_user_hour (org_id, bucket, user_id, requests, prompt_tokens,
                                     completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, occurred_at - ((occurred_at % 3600) + 3600) % 3600, user_id, COUNT(*),
       SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_micros), SUM(latency_ms)
FROM navi_llm_calls
GROUP BY org_id, occurred_at - ((occurred_at % 3600) + 3600) % 3600, user_id;

DROP TABLE navi_usage_by_user_6h;
