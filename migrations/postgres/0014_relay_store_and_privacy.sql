-- What the ISP's own relay-authorization stores (DRAC's map, pop-before-smtp's map, an SQL
-- table) held, entry by entry: one row from the first read that showed an address to the
-- first read that did not (gone_at), so every surface can say what Postfix obeyed at any
-- moment, and where the store and the mail checks disagree. value is the map's value as last
-- read (DRAC: the login time, all digits, rewritten at each login; pop-before-smtp: ok);
-- began_at is that time when the value is one, or the SQL row's time; login where an SQL table
-- holds it; last_seen the read that last changed the row.
create table relay_store_entries (
    id bigint generated always as identity primary key,
    store text not null,
    ip text not null,
    value text not null,
    login text,
    began_at bigint,
    first_seen bigint not null,
    last_seen bigint not null,
    gone_at bigint
);
-- One open row per store and address (several nodes may follow one store); the open rows are
-- read every second by the grant index, the closed ones by period.
create unique index relay_store_entries_open on relay_store_entries (store, ip) where gone_at is null;
create index relay_store_entries_held on relay_store_entries (ip, first_seen) where gone_at is null;
create index relay_store_entries_ip on relay_store_entries (ip, first_seen);
create index relay_store_entries_gone on relay_store_entries (gone_at);

-- Each store's first and last read: when, how many addresses it held, and the error of a failed read
-- (null after a good one). The status page and the findings judge the store by it.
create table relay_store_reads (
    store text primary key,
    first_read_at bigint not null,
    read_at bigint not null,
    held bigint not null,
    error text
);

-- Keys this installation made for itself: `anonymize` keys the hash that replaces logins in
-- history older than retention.anonymize_after (so one customer's old rows still count as one).
create table site_keys (
    name text primary key,
    key text not null
);
