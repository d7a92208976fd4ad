-- Webhook endpoints registered by keys limited to an account prefix
-- (docs/decisions/0046-webhook-endpoints-of-scoped-keys.md).
--
-- `scope` is the account prefix of the key that registered the endpoint (null: a key of the whole
-- ledger). The endpoint receives only events whose every account is under it, as that key reads
-- them from GET /v1/events, and its own filter stays inside it.
alter table settle.webhook_endpoints add column scope text
    check (scope is null or (octet_length(scope) between 1 and 128 and starts_with(account_prefix, scope)));
