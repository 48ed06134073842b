-- Relay authorization (§6): staff grants, blocks, suspensions, abuse alerts and the policy
-- service's decisions. Times are UTC epoch seconds.

-- A relay grant made by staff (or by the API) for one address until a time.
create table grants (
    id bigint generated always as identity primary key,
    ip text not null,
    login text,
    reason text not null,
    created_by text not null,
    created_at bigint not null,
    expires_at bigint not null,
    revoked_at bigint
);
create index grants_ip on grants (ip, expires_at);
create index grants_expires on grants (expires_at);

-- An address or network that may not relay, until lifted (or until `until`).
create table blocks (
    id bigint generated always as identity primary key,
    network text not null,          -- an address or CIDR, normalized
    reason text not null,
    created_by text not null,
    created_at bigint not null,
    until bigint,
    lifted_at bigint,
    lifted_by text
);
create index blocks_network on blocks (network);

-- A login whose logins authorize nothing, until lifted (or until `until`).
create table suspensions (
    id bigint generated always as identity primary key,
    login text not null,
    reason text not null,
    created_by text not null,
    created_at bigint not null,
    until bigint,
    lifted_at bigint,
    lifted_by text
);
create index suspensions_login on suspensions (login);

-- Abuse alerts (§6.4): a burst of relay attempts from one address, or accepted relays carried
-- by one login's grants.
create table alerts (
    id bigint generated always as identity primary key,
    kind text not null,             -- ip | login
    subject text not null,          -- the address or the login
    first_at bigint not null,
    last_at bigint not null,
    count bigint not null,
    carrier bigint not null,        -- attempts to mobile-carrier domains
    samples text not null,          -- JSON array of a few recipients
    ips text not null default '[]', -- JSON array of addresses involved (login alerts)
    opened_at bigint not null,
    acked_at bigint,
    acked_by text,
    auto_blocked bigint not null default 0
);
create index alerts_subject on alerts (kind, subject, last_at);
create index alerts_open on alerts (acked_at, last_at);

-- Every relay decision of the policy service: the action taken for a recipient outside
-- local_domains.
create table policy_decisions (
    id bigint generated always as identity primary key,
    at bigint not null,
    ip text not null,
    sender text not null,
    rcpt text not null,
    action text not null,           -- ok | reject
    login text                      -- whose grant allowed it
);
create index policy_decisions_ip on policy_decisions (ip, at);
create index policy_decisions_at on policy_decisions (at);
