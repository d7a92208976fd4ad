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

-- A batch of batch-settlement vouchers in one statement (group commit, decision 0005), as MPP's
-- settle.mpp_commit_vouchers: the conditional update of every channel of the batch (its
-- generation and the charged cumulative its voucher was checked against) and the posting of
-- their charges, in the statement's own transaction. Raises SG409 when a channel changed (the
-- caller then commits each voucher alone, with settle.x402_batch_commit_voucher, to answer each),
-- SG422 when a charge is rejected: nothing is written then.
create function settle.x402_batch_commit_vouchers(
    c_id text[], c_generation int4[], c_old_charged text[], c_charged text[], c_signed text[], c_signature text[],
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
    v_updated int8;
    r record;
begin
    update settle.x402_batch_channels c set charged = u.charged::numeric, signed_max = u.signed::numeric,
        signature = u.signature, vouchers = c.vouchers + 1, last_voucher_at = now(),
        unclaimed_since = coalesce(c.unclaimed_since, now())
    from unnest(c_id, c_generation, c_old_charged, c_charged, c_signed, c_signature)
        as u(id, generation, old_charged, charged, signed, signature)
    where c.channel_id = u.id and c.generation = u.generation and c.charged = u.old_charged::numeric;
    get diagnostics v_updated = row_count;
    if v_updated <> coalesce(cardinality(c_id), 0) then
        raise exception 'settle.x402_batch_commit_vouchers: % of % channels changed since their vouchers were checked',
            coalesce(cardinality(c_id), 0) - v_updated, coalesce(cardinality(c_id), 0) using errcode = 'SG409';
    end if;
    for r in select * from settle.post_transfers(
        t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set, t_metadata,
        t_rail, t_rail_ref, t_hash, p_tidx, p_account, p_debit, p_amount, p_atomic, a_prefix, a_key)
    loop
        if r.status > 1 then
            raise exception 'settle.x402_batch_commit_vouchers: charge % rejected (%)', r.idx, r.code using errcode = 'SG422';
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
