-- MPP sessions (tempo/session): one row per payment channel the server takes vouchers on. The
-- channel's identity and deposit are read from the chain; `accepted` (the highest voucher) and
-- `spent` (what requests consumed) are written before a paid response is served, in the same
-- transaction as the ledger's booking of the charge, with a conditional update on the previous
-- values so that any number of server replicas serialize on the row (decision 0020).
create table settle.mpp_sessions (
    channel_id text primary key check (channel_id ~ '^0x[0-9a-f]{64}$'),
    protocol text not null check (protocol in ('v1', 'v2')),
    escrow text not null check (escrow ~ '^0x[0-9a-f]{40}$'),
    chain_id bigint not null check (chain_id > 0),
    payer text not null check (payer ~ '^0x[0-9a-f]{40}$'),
    payee text not null check (payee ~ '^0x[0-9a-f]{40}$'),
    operator text not null check (operator ~ '^0x[0-9a-f]{40}$'),
    token text not null check (token ~ '^0x[0-9a-f]{40}$'),
    salt text not null check (salt ~ '^0x[0-9a-f]{64}$'),
    authorized_signer text not null check (authorized_signer ~ '^0x[0-9a-f]{40}$'),
    expiring_nonce_hash text not null check (expiring_nonce_hash ~ '^0x[0-9a-f]{64}$'),
    -- The ledger's asset and the merchant's revenue account the channel's charges are booked to.
    asset text not null check (length(asset) between 1 and 128),
    merchant_account text not null check (length(merchant_account) between 1 and 128),
    deposit numeric(78, 0) not null check (deposit >= 0),
    -- Paid out on chain by settle or close.
    settled numeric(78, 0) not null default 0 check (settled >= 0),
    -- The highest voucher accepted, and its signature (what settle and close send).
    accepted numeric(78, 0) not null default 0 check (accepted >= 0),
    signature text not null default '0x' check (signature ~ '^0x([0-9a-f]{128}|[0-9a-f]{130})?$'),
    -- What requests consumed (each charge is a ledger transfer to the merchant).
    spent numeric(78, 0) not null default 0 check (spent >= 0),
    -- The cumulative of the voucher that paid the last charge: the same voucher again is a retry.
    charged_cumulative numeric(78, 0),
    -- Vouchers accepted in all, and at the last settlement (the settler's count threshold).
    vouchers bigint not null default 0 check (vouchers >= 0),
    settled_vouchers bigint not null default 0 check (settled_vouchers >= 0),
    -- Since when accepted vouchers wait to be settled (the settler's age threshold).
    unsettled_since timestamptz,
    close_requested_at bigint not null default 0 check (close_requested_at >= 0),
    -- closing: a cooperative close is under way; vouchers are refused from then on.
    state text not null default 'open' check (state in ('open', 'closing', 'closed')),
    close_tx text,
    opened_at timestamptz not null default now(),
    last_voucher_at timestamptz,
    closed_at timestamptz,
    check (spent <= accepted or state = 'closed'),
    check (accepted <= deposit),
    check (settled <= deposit),
    check ((state = 'closed') = (closed_at is not null))
);

-- The settler's scan: open channels with vouchers not yet settled.
create index mpp_sessions_open on settle.mpp_sessions (unsettled_since) where state = 'open';
