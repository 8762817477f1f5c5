DROP TABLE navi_api_keys;
