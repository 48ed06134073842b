-- Rejections by address, by sender and by period, planned well without statistics.
-- relaydesk never runs ANALYZE, and without statistics SQLite answered "relay rejections from
-- this address (or by this sender) in a period, newest first" — the customer's page, every
-- diagnosis, the staff search — with rejections_kind_at: equality on kind, a range on at and the
-- order for free, so it read every relay rejection of the period. With 1 M rejections stored
-- that was 0.2-0.3 s a page and a search (bench/web). Here the address and sender indexes carry
-- the kind, so those queries have an index matching all of their equalities, and the period
-- index leads with the time, so it no longer competes as an equality match; it still covers
-- "count relay rejections since t" and lists by period. Same number of indexes as before.
drop index rejections_ip;
drop index rejections_sender;
drop index rejections_kind_at;
create index rejections_ip_kind on rejections (ip, kind, at);
create index rejections_sender_kind on rejections (sender, kind, at);
create index rejections_at_kind on rejections (at, kind);
