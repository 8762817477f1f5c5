DROP TABLE navi_user_identities;
DROP TABLE navi_sso_domains;
DROP TABLE navi_sso_connections;
