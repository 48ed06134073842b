-- Counts have one definition: what happened per minute, attributed to the minute it happened
-- in, written in the same transaction as the events (so rotation, restarts and kill -9 neither
-- lose nor double a count). Kinds: mail_check (one successful mailbox login line),
-- login_failed (one failed attempt), relay_refused, relay_accepted (one recipient each).
-- The dashboard, /status and GET /status read every count from here.
create table activity (
    minute bigint not null,
    kind text not null,
    count bigint not null,
    primary key (minute, kind)
);
-- What the store already holds, as near as it tells: failures, refusals and accepted relays
-- are exact; a session's logins are counted in the minute of its last one.
insert into activity (minute, kind, count)
select at - at % 60, 'login_failed', count(*) from login_failures group by at - at % 60;
insert into activity (minute, kind, count)
select at - at % 60, 'relay_refused', count(*) from rejections where kind = 'relay'
group by at - at % 60;
insert into activity (minute, kind, count)
select minute, 'relay_accepted', sum(count) from relays group by minute;
insert into activity (minute, kind, count)
select last_seen - last_seen % 60, 'mail_check', sum(logins) from sessions
group by last_seen - last_seen % 60;
