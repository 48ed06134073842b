-- The last time step whose TOTP code signed the account in: the same code (or an earlier one)
-- is refused after that, so a code seen over a shoulder or in a proxy log cannot be replayed.
alter table staff add column totp_last_step bigint;
