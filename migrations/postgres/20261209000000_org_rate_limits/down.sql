DROP TABLE navi_org_rate_limits;
