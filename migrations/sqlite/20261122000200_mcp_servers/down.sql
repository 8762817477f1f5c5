DROP TABLE navi_mcp_servers;
