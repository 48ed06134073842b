-- The web surfaces (§7): sign-in sessions, staff accounts and API tokens, the audit log, notes,
-- sign-in throttling, and notices. Times are UTC epoch seconds.

-- Signed-in browser sessions, customers' and staff's. Only a hash of the cookie value is kept.
create table web_sessions (
    id_hash text primary key,
    kind text not null,             -- customer | staff
    subject text not null,          -- the login (customer) or the staff name
    csrf text not null,             -- the session's CSRF token
    created_at bigint not null,
    seen_at bigint not null,
    expires_at bigint not null      -- the absolute timeout
);
create index web_sessions_subject on web_sessions (kind, subject);

create table staff (
    id bigint generated always as identity primary key,
    name text not null unique,
    role text not null,             -- agent | admin
    password_hash text not null,    -- argon2id, PHC string
    totp_secret text,               -- base32, when a second factor is set up
    disabled_at bigint,
    created_at bigint not null
);

-- API bearer tokens; only a hash of the token is kept.
create table api_tokens (
    id bigint generated always as identity primary key,
    staff_id bigint not null references staff (id),
    token_hash text not null unique,
    created_at bigint not null,
    last_used_at bigint,
    revoked_at bigint
);

-- Every staff view of personal data and every staff action: who, when, what, why.
create table audit (
    id bigint generated always as identity primary key,
    at bigint not null,
    actor text not null,
    action text not null,           -- view_customer, view_ip, search, grant, block, …
    subject text not null,
    reason text,
    detail text
);
create index audit_at on audit (at);
create index audit_subject on audit (subject, at);

-- Helpdesk notes on a customer.
create table notes (
    id bigint generated always as identity primary key,
    login text not null,
    body text not null,
    created_by text not null,
    created_at bigint not null
);
create index notes_login on notes (login, created_at);

-- Failed sign-ins, for throttling per account and per address.
create table signin_failures (
    id bigint generated always as identity primary key,
    kind text not null,             -- customer | staff
    account text not null,
    ip text not null,
    at bigint not null
);
create index signin_failures_account on signin_failures (kind, account, at);
create index signin_failures_ip on signin_failures (ip, at);

-- Announcements, incidents and scheduled maintenance (§7.1), in both languages.
create table notices (
    id bigint generated always as identity primary key,
    kind text not null,             -- notice | incident | maintenance
    title_ja text not null,
    title_en text not null,
    body_ja text not null,          -- Markdown, sanitized when shown
    body_en text not null,
    published_at bigint not null,
    updated_at bigint not null,
    starts_at bigint,               -- incidents and maintenance
    ends_at bigint,                 -- null while an incident is open
    status text,                    -- incidents: investigating | identified | resolved
    created_by text not null
);
create index notices_published on notices (published_at);
