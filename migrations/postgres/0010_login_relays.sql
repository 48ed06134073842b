-- Accepted relays per customer login and method, per minute: who relays by POP before SMTP and
-- who by SMTP AUTH (the relay-methods report). first_at/last_at are the exact seconds.
create table login_relays (
    minute bigint not null,
    login text not null,
    method text not null,           -- pop_before_smtp | smtp_auth
    count bigint not null,
    first_at bigint not null,
    last_at bigint not null,
    primary key (minute, login, method)
);
create index login_relays_login on login_relays (login, minute);
