-- x402 settlements: one row per EIP-3009 authorization the facilitator was asked to settle,
-- keyed by what the token contract itself keys it by: (network, asset, payer, nonce). The row is
-- written before any transaction exists, and the signed raw transaction before it is broadcast,
-- so a crash anywhere resumes with the same transaction and never signs a second one.
create table settle.x402_settlements (
    network text not null check (length(network) between 3 and 64),
    asset text not null check (asset ~ '^0x[0-9a-f]{40}$'),
    payer text not null check (payer ~ '^0x[0-9a-f]{40}$'),
    nonce text not null check (nonce ~ '^0x[0-9a-f]{64}$'),
    state text not null check (state in ('reserved', 'broadcast', 'settled', 'failed')),
    -- SHA-256 of the canonical payload (accepted requirements and signed authorization).
    request_hash bytea not null check (length(request_hash) = 32),
    payload jsonb not null,
    tx_hash text check (tx_hash ~ '^0x[0-9a-f]{64}$'),
    raw_tx bytea,
    result jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (network, asset, payer, nonce),
    check ((state in ('reserved') and tx_hash is null) or state <> 'reserved'),
    check ((state = 'broadcast') <= (tx_hash is not null and raw_tx is not null))
);

create index x402_settlements_open on settle.x402_settlements (updated_at) where state in ('reserved', 'broadcast');

-- The resource server's side: which payment a route served, so that one payment is served once
-- (a replay of the same authorization is refused) and a retry with the same payment-identifier
-- gets the stored response back.
create table settle.x402_responses (
    payment_key text primary key check (length(payment_key) between 1 and 300),
    payment_id text unique check (payment_id ~ '^[A-Za-z0-9_-]{16,128}$'),
    request_hash bytea not null check (length(request_hash) = 32),
    state text not null check (state in ('serving', 'served')),
    status integer,
    headers jsonb,
    body bytea,
    claimed_at timestamptz not null default now(),
    served_at timestamptz
);
