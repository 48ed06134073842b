-- The event store: what the mail logs said, kept small (§5). Times are UTC epoch seconds.

-- One row per log source (a followed path, 'syslog', 'hook', an import): counters for the
-- dashboard, and the parser's correlation state, committed with the events it produced.
create table sources (
    name text primary key,
    state text not null default '{}',     -- open Postfix queue entries (JSON) awaiting their deliveries
    lines bigint not null default 0,
    events bigint not null default 0,
    skipped bigint not null default 0,    -- well-formed lines that are no event
    malformed bigint not null default 0,  -- lines with no recognizable framing
    first_event_at bigint,                -- the earliest event time seen: logs begin here
    last_event_at bigint,
    updated_at bigint not null default 0,
    error text                            -- last read or write trouble, cleared on success
);

-- The files of a source, recognized by a fingerprint (a hash of their first fp_len bytes) so a
-- file is still known after it is renamed, copied or compressed. pos is how far it has been
-- read (decompressed bytes); done_at is set once a rotated file was read to its end. Each row
-- is committed in the same transaction as the events read from that file.
create table source_files (
    source text not null,
    fp_hash bigint not null,
    fp_len bigint not null,
    pos bigint not null,
    done_at bigint,
    updated_at bigint not null,
    primary key (source, fp_hash, fp_len)
);

-- Consecutive logins by one login from one IP over one protocol, with no gap longer than the
-- window, form one session.
create table sessions (
    login text not null,
    ip text not null,
    service text not null,
    first_seen bigint not null,
    last_seen bigint not null,
    logins bigint not null,
    primary key (login, ip, service, first_seen)
);
create index sessions_ip on sessions (ip, last_seen);
create index sessions_login_last on sessions (login, last_seen);
create index sessions_last on sessions (last_seen);

create table login_failures (
    id integer primary key,
    at bigint not null,
    login text,
    ip text not null,
    service text not null,
    reason text not null
);
create index login_failures_login on login_failures (login, at);
create index login_failures_ip on login_failures (ip, at);

-- Refused recipients and SMTP AUTH failures, one row each. kind: relay | other | smtp_auth.
create table rejections (
    id integer primary key,
    at bigint not null,
    kind text not null,
    ip text not null,
    sender text not null,
    rcpt text not null,
    reply text not null
);
create index rejections_ip on rejections (ip, at);
create index rejections_sender on rejections (sender, at);
create index rejections_kind_at on rejections (kind, at);

-- Accepted relays (recipient outside local_domains), aggregated per minute, IP and sender.
create table relays (
    minute bigint not null,
    ip text not null,
    sender text not null,
    count bigint not null,
    carrier bigint not null,        -- of which to mobile-carrier domains
    sample_rcpt text not null,
    primary key (minute, ip, sender)
);
create index relays_ip on relays (ip, minute);

-- An imported account list: which login owns a mail address (optional; §6.2).
create table accounts (
    address text primary key,
    login text not null
);
