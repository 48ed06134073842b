-- The second-factor secret a staff session was last shown on /staff/totp: enrolment accepts
-- only this one, so a session alone cannot choose its own secret.
alter table web_sessions add column pending_totp text;
