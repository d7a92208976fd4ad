-- API keys of the HTTP service. Only a SHA-256 of each key's secret is stored: the key itself is
-- shown once, when it is created. A key is never deleted, only revoked, so that logs naming a key id
-- stay explainable.
create table settle.api_keys (
    id text primary key check (id ~ '^[0-9a-f]{16}$'),
    secret_sha256 bytea not null check (octet_length(secret_sha256) = 32),
    scope text not null check (scope in ('read', 'write', 'admin')),
    -- A key with a prefix sees and moves only accounts whose id starts with it.
    account_prefix text check (account_prefix <> ''),
    label text not null default '',
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);
