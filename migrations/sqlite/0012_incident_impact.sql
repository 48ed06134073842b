-- Incidents drive the status page: how bad one is (degraded | outage) and which components it
-- touches (a comma-separated list of component ids: relay_authorization, mailbox_logins,
-- log_freshness, policy_service). Null for notices, maintenance and incidents written before.
alter table notices add column impact text;
alter table notices add column components text;
