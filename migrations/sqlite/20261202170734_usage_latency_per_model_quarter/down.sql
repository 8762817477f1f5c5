-- Reverts usage_latency_per_model_quarter: the histogram per org and 15-minute bucket again, summed
-- over the models.
CREATE TABLE navi_usage_latency (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL,
    max_ms            BIGINT       NOT NULL,
    h00               BIGINT       NOT NULL DEFAULT 0,
    h01               BIGINT       NOT NULL DEFAULT 0,
    h02               BIGINT       NOT NULL DEFAULT 0,
    h03               BIGINT       NOT NULL DEFAULT 0,
    h04               BIGINT       NOT NULL DEFAULT 0,
    h05               BIGINT       NOT NULL DEFAULT 0,
    h06               BIGINT       NOT NULL DEFAULT 0,
    h07               BIGINT       NOT NULL DEFAULT 0,
    h08               BIGINT       NOT NULL DEFAULT 0,
    h09               BIGINT       NOT NULL DEFAULT 0,
    h10               BIGINT       NOT NULL DEFAULT 0,
    h11               BIGINT       NOT NULL DEFAULT 0,
    h12               BIGINT       NOT NULL DEFAULT 0,
    h13               BIGINT       NOT NULL DEFAULT 0,
    h14               BIGINT       NOT NULL DEFAULT 0,
    h15               BIGINT       NOT NULL DEFAULT 0,
    h16               BIGINT       NOT NULL DEFAULT 0,
    h17               BIGINT       NOT NULL DEFAULT 0,
    h18               BIGINT       NOT NULL DEFAULT 0,
    h19               BIGINT       NOT NULL DEFAULT 0,
    h20               BIGINT       NOT NULL DEFAULT 0,
    h21               BIGINT       NOT NULL DEFAULT 0,
    h22               BIGINT       NOT NULL DEFAULT 0,
    h23               BIGINT       NOT NULL DEFAULT 0,
    h24               BIGINT       NOT NULL DEFAULT 0,
    h25               BIGINT       NOT NULL DEFAULT 0,
    h26               BIGINT       NOT NULL DEFAULT 0,
    h27               BIGINT       NOT NULL DEFAULT 0,
    h28               BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, bucket)
) WITHOUT ROWID;

INSERT INTO navi_usage_latency (org_id, bucket, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28)
SELECT org_id, bucket, MAX(max_ms), SUM(h00), SUM(h01), SUM(h02), SUM(h03), SUM(h04), SUM(h05), SUM(h06), SUM(h07), SUM(h08), SUM(h09), SUM(h10), SUM(h11), SUM(h12), SUM(h13), SUM(h14), SUM(h15), SUM(h16), SUM(h17), SUM(h18), SUM(h19), SUM(h20), SUM(h21), SUM(h22), SUM(h23), SUM(h24), SUM(h25), SUM(h26), SUM(h27), SUM(h28)
FROM navi_usage_by_model
GROUP BY org_id, bucket;

ALTER TABLE navi_usage_by_model DROP COLUMN max_ms;
ALTER TABLE navi_usage_by_model DROP COLUMN h00;
ALTER TABLE navi_usage_by_model DROP COLUMN h01;
ALTER TABLE navi_usage_by_model DROP COLUMN h02;
ALTER TABLE navi_usage_by_model DROP COLUMN h03;
ALTER TABLE navi_usage_by_model DROP COLUMN h04;
ALTER TABLE navi_usage_by_model DROP COLUMN h05;
ALTER TABLE navi_usage_by_model DROP COLUMN h06;
ALTER TABLE navi_usage_by_model DROP COLUMN h07;
ALTER TABLE navi_usage_by_model DROP COLUMN h08;
ALTER TABLE navi_usage_by_model DROP COLUMN h09;
ALTER TABLE navi_usage_by_model DROP COLUMN h10;
ALTER TABLE navi_usage_by_model DROP COLUMN h11;
ALTER TABLE navi_usage_by_model DROP COLUMN h12;
ALTER TABLE navi_usage_by_model DROP COLUMN h13;
ALTER TABLE navi_usage_by_model DROP COLUMN h14;
ALTER TABLE navi_usage_by_model DROP COLUMN h15;
ALTER TABLE navi_usage_by_model DROP COLUMN h16;
ALTER TABLE navi_usage_by_model DROP COLUMN h17;
ALTER TABLE navi_usage_by_model DROP COLUMN h18;
ALTER TABLE navi_usage_by_model DROP COLUMN h19;
ALTER TABLE navi_usage_by_model DROP COLUMN h20;
ALTER TABLE navi_usage_by_model DROP COLUMN h21;
ALTER TABLE navi_usage_by_model DROP COLUMN h22;
ALTER TABLE navi_usage_by_model DROP COLUMN h23;
ALTER TABLE navi_usage_by_model DROP COLUMN h24;
ALTER TABLE navi_usage_by_model DROP COLUMN h25;
ALTER TABLE navi_usage_by_model DROP COLUMN h26;
ALTER TABLE navi_usage_by_model DROP COLUMN h27;
ALTER TABLE navi_usage_by_model DROP COLUMN h28;
