-- Each refusal's reply links to its explanation, /why/CODE: the code and the cause the policy
-- service worded the reply by, recorded with the decision. A code starts with its decision's
-- time (8 hex digits), so it is found through policy_decisions_at: no index of random values
-- to keep up at 30,000 decisions a second.
alter table policy_decisions add column code text;
alter table policy_decisions add column cause text;
-- The policy's cause memory reads failures committed since its last refresh.
create index login_failures_at on login_failures (at);
