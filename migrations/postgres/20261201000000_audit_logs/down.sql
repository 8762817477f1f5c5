DROP TABLE navi_audit_logs;
