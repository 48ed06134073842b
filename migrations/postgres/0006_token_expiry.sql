-- API tokens may expire (`relaydesk token create --expires 90d`): a token past its time is
-- refused like a revoked one. Tokens made before have none.
alter table api_tokens add column expires_at bigint;
