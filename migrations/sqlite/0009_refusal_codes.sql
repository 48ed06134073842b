-- Each refusal's reply links to its explanation, /why/CODE: the code and the cause the policy
-- service worded the reply by, recorded with the decision.
alter table policy_decisions add column code text;
alter table policy_decisions add column cause text;
create unique index policy_decisions_code on policy_decisions (code);
-- The policy's cause memory reads failures committed since its last refresh.
create index login_failures_at on login_failures (at);
