-- A batch of MPP session vouchers in one statement (decision 0020, amended): the conditional
-- update of the channels and the posting of their charges, in the statement's own transaction,
-- so that a batch costs one round trip instead of BEGIN, update, posting call and COMMIT.
-- Raises SG409 when a channel is no longer as its vouchers were checked against (the caller
-- then takes the per-channel path), and SG422 when a charge is rejected: nothing is written.
create function settle.mpp_commit_vouchers(
    c_id text[], c_old_accepted text[], c_old_spent text[], c_accepted text[], c_spent text[],
    c_signature text[], c_charged text[], c_count int8[],
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
    update settle.mpp_sessions s set accepted = u.accepted::numeric, spent = u.spent::numeric,
        signature = u.signature, charged_cumulative = nullif(u.charged, '')::numeric,
        vouchers = s.vouchers + u.n, last_voucher_at = now(),
        unsettled_since = coalesce(s.unsettled_since, now())
    from unnest(c_id, c_old_accepted, c_old_spent, c_accepted, c_spent, c_signature, c_charged, c_count)
        as u(id, old_accepted, old_spent, accepted, spent, signature, charged, n)
    where s.channel_id = u.id and s.state = 'open' and s.close_requested_at = 0
        and s.accepted = u.old_accepted::numeric and s.spent = u.old_spent::numeric;
    get diagnostics v_updated = row_count;
    if v_updated <> coalesce(cardinality(c_id), 0) then
        raise exception 'settle.mpp_commit_vouchers: % of % channels changed since their vouchers were checked',
            coalesce(cardinality(c_id), 0) - v_updated, coalesce(cardinality(c_id), 0) using errcode = 'SG409';
    end if;
    for r in select * from settle.post_transfers(
        t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set, t_metadata,
        t_rail, t_rail_ref, t_hash, p_tidx, p_account, p_debit, p_amount, p_atomic, a_prefix, a_key)
    loop
        if r.status > 1 then
            raise exception 'settle.mpp_commit_vouchers: charge % rejected (%)', r.idx, r.code using errcode = 'SG422';
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
