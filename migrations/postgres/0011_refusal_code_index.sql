-- /why/CODE finds its decision by time and code in one index seek, however many decisions
-- share that second: the time index alone made a made-up code cost a scan of its second (up
-- to 30,000 rows at full load). Decisions are written in time order, so the longer key still
-- goes in at the index's right edge, as the time index did; it serves the time ranges
-- (retention, reports) the time index served.
drop index policy_decisions_at;
create index policy_decisions_at_code on policy_decisions (at, code);
