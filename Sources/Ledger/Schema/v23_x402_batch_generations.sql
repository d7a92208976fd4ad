-- A batch-settlement channel's generation. A channel id is the hash of its config on one chain and
-- contract, so a payer whose client keeps the default salt gets the same id on a chain that was
-- replaced (a sandbox's new dev chain under books that outlive it). When the chain no longer has
-- what the stored row describes, the row starts a new generation: its bookings get accounts and
-- transfer ids of their own, so the earlier generation's natural keys (a charge's cumulative, a
-- claim's total) are never taken for the new one's and nothing is booked twice or skipped.
alter table settle.x402_batch_channels
    add column generation integer not null default 0 check (generation >= 0),
    add column renewed_at timestamptz;

-- The transactions Settle's batch-settlement facilitator sends (deposits, claims, sweeps, refunds),
-- stored before they are broadcast and followed until final, as x402 `exact`'s settlements are
-- (decision 0034): one that a reorganization drops is sent again (the stored transaction, or its
-- call with a new nonce when the nonce went elsewhere), one that can no longer be mined is given up
-- and logged, its booking to be reversed.
create table settle.x402_batch_transactions (
    tx_hash text primary key check (tx_hash ~ '^0x[0-9a-f]*$' and octet_length(tx_hash) = 66),
    chain_id bigint not null check (chain_id > 0),
    kind text not null check (kind in ('deposit', 'claim', 'settle', 'refund')),
    sender text not null check (sender ~ '^0x[0-9a-f]*$' and octet_length(sender) = 42),
    nonce bigint not null check (nonce >= 0),
    gas bigint not null check (gas > 0),
    call_data bytea not null,
    raw_tx bytea not null,
    -- A deposit's ERC-3009 authorization cannot be used after this (Unix seconds).
    valid_before numeric(78, 0),
    state text not null default 'broadcast'
        check (state in ('broadcast', 'mined', 'reverted', 'replaced', 'dropped')),
    block_number bigint,
    replaced_by text check (replaced_by ~ '^0x[0-9a-f]*$' and octet_length(replaced_by) = 66),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    final_at timestamptz
);

-- The follower's scan: what is not final yet, per chain.
create index x402_batch_transactions_followed on settle.x402_batch_transactions (chain_id, updated_at) where final_at is null;
