-- x402 batch-settlement channels a Settle resource server takes vouchers on (decision 0029). The
-- chain's view (balance, claimed, withdrawal, refund nonce) is what the server last read or
-- caused; `charged` is the cumulative its responses were paid with, written before a paid
-- response is served, in the statement that books the charge, on the condition that it is still
-- the value the voucher was checked against. `claimed` is what Settle claimed on chain and booked.
create table settle.x402_batch_channels (
    channel_id text primary key check (channel_id ~ '^0x[0-9a-f]{64}$'),
    chain_id bigint not null check (chain_id > 0),
    payer text not null check (payer ~ '^0x[0-9a-f]{40}$'),
    payer_authorizer text not null check (payer_authorizer ~ '^0x[0-9a-f]{40}$'),
    receiver text not null check (receiver ~ '^0x[0-9a-f]{40}$'),
    receiver_authorizer text not null check (receiver_authorizer ~ '^0x[0-9a-f]{40}$'),
    token text not null check (token ~ '^0x[0-9a-f]{40}$'),
    withdraw_delay bigint not null check (withdraw_delay > 0),
    salt text not null check (salt ~ '^0x[0-9a-f]{64}$'),
    -- The ledger's asset and the merchant's revenue account the channel's charges are booked to.
    asset text not null check (length(asset) between 1 and 128),
    merchant_account text not null check (length(merchant_account) between 1 and 128),
    balance numeric(78, 0) not null default 0 check (balance >= 0),
    total_claimed numeric(78, 0) not null default 0 check (total_claimed >= 0),
    withdraw_requested_at bigint not null default 0 check (withdraw_requested_at >= 0),
    refund_nonce numeric(78, 0) not null default 0 check (refund_nonce >= 0),
    synced_at timestamptz,
    charged numeric(78, 0) not null default 0 check (charged >= 0),
    signed_max numeric(78, 0) not null default 0 check (signed_max >= 0),
    signature text not null default '0x' check (signature ~ '^0x([0-9a-f]{130})?$'),
    claimed numeric(78, 0) not null default 0 check (claimed >= 0),
    vouchers bigint not null default 0 check (vouchers >= 0),
    -- Since when charges wait to be claimed (the settler's age threshold).
    unclaimed_since timestamptz,
    opened_at timestamptz not null default now(),
    last_voucher_at timestamptz,
    check (charged <= signed_max),
    check (claimed <= charged)
);

-- The settler's scan: channels with charges not yet claimed.
create index x402_batch_channels_unclaimed on settle.x402_batch_channels (receiver, unclaimed_since) where charged > claimed;

-- A voucher's charge in one statement: the conditional update of its channel and the posting of
-- the charge, in the statement's own transaction. Raises SG409 when the channel's charged
-- cumulative is no longer the one the voucher was checked against, SG422 when the charge is
-- rejected: nothing is written then.
create function settle.x402_batch_commit_voucher(
    c_id text, c_old_charged text, c_charged text, c_signed text, c_signature text,
    t_id text[], t_kind int2[], t_parent text[], t_amount numeric[], t_timeout int8[],
    t_effective timestamptz[], t_effective_set bool[], t_metadata text[],
    t_rail text[], t_rail_ref text[], t_hash text[],
    p_tidx int4[], p_account text[], p_debit bool[], p_amount numeric[],
    p_atomic boolean, a_prefix text[], a_key bool[])
returns table (idx int4, status int2, code text, seq bigint, recorded_at timestamptz)
language plpgsql
set client_min_messages = warning
as $fn$
#variable_conflict use_column
declare
    r record;
begin
    update settle.x402_batch_channels c set charged = c_charged::numeric, signed_max = c_signed::numeric,
        signature = c_signature, vouchers = c.vouchers + 1, last_voucher_at = now(),
        unclaimed_since = coalesce(c.unclaimed_since, now())
    where c.channel_id = c_id and c.charged = c_old_charged::numeric;
    if not found then
        raise exception 'settle.x402_batch_commit_voucher: channel % was charged since its voucher was checked', c_id
            using errcode = 'SG409';
    end if;
    for r in select * from settle.post_transfers(
        t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set, t_metadata,
        t_rail, t_rail_ref, t_hash, p_tidx, p_account, p_debit, p_amount, p_atomic, a_prefix, a_key)
    loop
        if r.status > 1 then
            raise exception 'settle.x402_batch_commit_voucher: charge rejected (%)', r.code using errcode = 'SG422';
        end if;
        idx := r.idx;
        status := r.status;
        code := r.code;
        seq := r.seq;
        recorded_at := r.recorded_at;
        return next;
    end loop;
end
$fn$;
