DROP TABLE navi_org_invites;
DROP TABLE navi_org_members;
DROP TABLE navi_orgs;
DROP TABLE navi_users;
