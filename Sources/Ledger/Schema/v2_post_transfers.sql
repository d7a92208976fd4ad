-- settle.post_transfers: the one writer of the ledger. One call = one batch = one round trip.
--
-- Input is column-oriented (parallel arrays), item i of the t_* arrays is transfer i, and each
-- posting row of the p_* arrays names its transfer by p_tidx. Sentinels stand for "absent" because
-- the driver binds arrays without NULL elements: '' for text, -1 for t_amount, 0 for t_timeout.
--
-- Result: one row per transfer, status 0 = created, 1 = exists (same id, same request hash),
-- 2 = rejected with a stable code. Nothing is written for a rejected transfer; with p_atomic
-- nothing is written at all unless every transfer is created or exists.
--
-- Order of work (see docs/decisions/0002-posting-function.md):
--   stage input -> resolve parents and accounts -> static checks -> phase A: lock the balance rows
--   of limited accounts in account order -> idempotency and hold-state checks (after the lock, so
--   concurrent duplicates serialise) -> running balances with window functions, limit check
--   set-based (a sequential pass only when a limit rejects something) -> insert transfers, entries
--   and netted balances of limited accounts -> phase B: lock the unlimited accounts (hot merchants,
--   clearing accounts) and write their entries and balances. A race the locks do not order (the
--   same new id on disjoint accounts) ends in a unique violation; the caller retries the batch.
create function settle.post_transfers(
    t_id text[], t_kind int2[], t_parent text[], t_amount numeric[], t_timeout int8[],
    t_effective timestamptz[], t_effective_set bool[], t_metadata text[],
    t_rail text[], t_rail_ref text[], t_hash text[],
    p_tidx int4[], p_account text[], p_debit bool[], p_amount numeric[],
    p_atomic boolean)
returns table (idx int4, status int2, code text, seq bigint, recorded_at timestamptz)
language plpgsql
-- Plans are made for each call's real sizes; index probes into the ledger's tables are cheap (its
-- working set is cached), and a small statistics sample is enough for staging tables.
set plan_cache_mode = force_custom_plan
set random_page_cost = 1.1
set default_statistics_target = 10
set client_min_messages = warning
as $fn$
#variable_conflict use_column
declare
    n int4 := coalesce(cardinality(t_id), 0);
    m int4 := coalesce(cardinality(p_tidx), 0);
    v_now timestamptz := now();
    u256_max constant numeric := 115792089237316195423570985008687907853269984665640564039457584007913129639935;
    v_violations int4;
begin
    if n = 0 then
        return;
    end if;
    if coalesce(cardinality(t_kind), 0) <> n or coalesce(cardinality(t_parent), 0) <> n
        or coalesce(cardinality(t_amount), 0) <> n or coalesce(cardinality(t_timeout), 0) <> n
        or coalesce(cardinality(t_effective), 0) <> n or coalesce(cardinality(t_effective_set), 0) <> n
        or coalesce(cardinality(t_metadata), 0) <> n or coalesce(cardinality(t_rail), 0) <> n
        or coalesce(cardinality(t_rail_ref), 0) <> n or coalesce(cardinality(t_hash), 0) <> n
        or coalesce(cardinality(p_account), 0) <> m or coalesce(cardinality(p_debit), 0) <> m
        or coalesce(cardinality(p_amount), 0) <> m then
        raise exception 'settle.post_transfers: input arrays differ in length' using errcode = '22023';
    end if;

    -- Staging tables live for the session (created once: a CREATE or TRUNCATE per call costs
    -- more than a small batch) and are emptied at commit.
    if to_regclass('pg_temp.pt_run') is null then
        create temp table pt_transfer (
            i int4, id text, kind int2, parent text, amount numeric, timeout int8,
            effective timestamptz, metadata text, rail text, rail_ref text, hash text,
            parent_seq int8, parent_kind int2, parent_expires timestamptz,
            code text, dup_of int4, exists_seq int8, exists_recorded timestamptz, seq int8
        ) on commit delete rows;
        create temp table pt_entry (
            i int4, ord int4, num int8, asset text, flags int2, closed bool,
            debit bool, pending bool, amount numeric
        ) on commit delete rows;
        create temp table pt_run (
            i int4, ord int4, num int8, flags int2, debit bool, pending bool, amount numeric,
            version int8, dp numeric, cp numeric, dpe numeric, cpe numeric
        ) on commit delete rows;
    end if;
    delete from pt_transfer;
    delete from pt_entry;
    delete from pt_run;

    -- Every transfer gets its sequence number here (a rejected one leaves a gap), which spares an
    -- update of every accepted row later.
    insert into pt_transfer (i, id, kind, parent, amount, timeout, effective, metadata, rail, rail_ref, hash, seq)
    select u.i, u.id, u.kind, u.parent, u.amount, u.timeout,
           case when u.eset then u.eff else v_now end, u.meta, u.rail, u.ref, u.hash,
           nextval('settle.transfer_seq')
      from unnest(t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set,
                  t_metadata, t_rail, t_rail_ref, t_hash)
           with ordinality as u(id, kind, parent, amount, timeout, eff, eset, meta, rail, ref, hash, i);

    -- Later copies of an id in the same batch: same hash mirrors the first, another is refused.
    if exists (select 1 from pt_transfer x group by x.id having count(*) > 1) then
        update pt_transfer p
           set dup_of = case when f.hash = p.hash then f.i end,
               code = case when f.hash <> p.hash then 'exists_with_different_fields' end
          from (select x.i, min(x.i) over (partition by x.id) as fi from pt_transfer x) d
          join pt_transfer f on f.i = d.fi
         where p.i = d.i and d.i > d.fi;
    end if;

    if exists (select 1 from pt_transfer x where x.parent <> '') then
        update pt_transfer p
           set parent_seq = t.seq, parent_kind = t.kind, parent_expires = t.expires_at
          from settle.transfers t
         where p.parent <> '' and t.id = p.parent;
    end if;

    -- Explicit postings (kinds 0 and 1).
    insert into pt_entry (i, ord, num, asset, flags, closed, debit, pending, amount)
    select u.i, u.o::int4, a.num, a.asset_id, a.flags, a.closed, u.d, t_kind[u.i] = 1, u.amt
      from unnest(p_tidx, p_account, p_debit, p_amount) with ordinality as u(i, acc, d, amt, o)
      left join settle.accounts a on a.id = u.acc;

    -- Fresh statistics on every call: without them the planner guesses ten pages for a small batch
    -- (and hashes whole tables), and with a previous batch's it takes a large one for one row
    -- (and nests loops over it). Either costs seconds; analyzing costs milliseconds.
    analyze pt_transfer;
    analyze pt_entry;

    if exists (select 1 from pt_entry e where e.i < 1 or e.i > n) then
        raise exception 'settle.post_transfers: posting names a transfer out of range' using errcode = '22023';
    end if;

    -- Static checks. Each statement only fills an empty code, so the first failing check names it.
    update pt_transfer set code = 'invalid_kind' where code is null and kind not between 0 and 5;
    update pt_transfer set code = case kind when 4 then 'transfer_not_found'
                                            when 0 then 'parent_not_found'
                                            when 1 then 'parent_not_found'
                                            else 'pending_transfer_not_found' end
     where code is null and parent_seq is null and (parent <> '' or kind >= 2);
    update pt_transfer set code = 'transfer_not_pending'
     where code is null and kind in (2, 3, 5) and parent_kind <> 1;
    update pt_transfer set code = 'transfer_not_reversible'
     where code is null and kind = 4 and parent_kind not in (0, 2, 4);
    update pt_transfer set code = 'invalid_timeout' where code is null and timeout < 0;
    update pt_transfer set code = 'timeout_requires_pending' where code is null and timeout > 0 and kind <> 1;
    update pt_transfer set code = 'amount_not_allowed' where code is null and amount >= 0 and kind <> 2;
    update pt_transfer set code = 'amount_must_be_positive' where code is null and kind = 2 and amount = 0;
    update pt_transfer set code = 'invalid_metadata'
     where code is null and metadata <> '' and jsonb_typeof(metadata::jsonb) <> 'object';
    update pt_transfer set code = 'invalid_rail_reference'
     where code is null and ((rail = '') <> (rail_ref = '') or length(rail) > 32 or length(rail_ref) > 256);

    update pt_transfer p set code = 'postings_not_allowed'
     where p.code is null and p.kind >= 2 and exists (select 1 from pt_entry e where e.i = p.i);
    update pt_transfer p set code = c.code
      from (select distinct on (e.i) e.i,
                   case when e.num is null then 'account_not_found'
                        when e.amount <= 0 then 'amount_must_be_positive'
                        else 'account_closed' end as code
              from pt_entry e
             where e.num is null or e.amount <= 0 or e.closed
             order by e.i, e.ord) c
     where p.i = c.i and p.code is null;
    -- The shape of each transfer in one pass: postings per (transfer, asset, account), then per
    -- (transfer, asset), then per transfer. Checks keep their order: too few, duplicate, balance.
    update pt_transfer p
       set code = case when p.kind <= 1 and coalesce(c.postings, 0) < 2 then 'too_few_postings'
                       when c.dup then 'duplicate_account'
                       when c.assets > 1 then 'postings_across_assets'
                       else 'unbalanced' end
      from pt_transfer x
      left join (select a.i, sum(a.k) as postings, count(*) as assets, bool_or(a.net <> 0) as unbalanced,
                        bool_or(a.dup) as dup
                   from (select y.i, y.asset, sum(y.net) as net, sum(y.k) as k, bool_or(y.k > 1) as dup
                           from (select e.i, e.asset, e.num, count(*) as k,
                                        sum(case when e.debit then e.amount else -e.amount end) as net
                                   from pt_entry e group by e.i, e.asset, e.num) y
                          group by y.i, y.asset) a
                  group by a.i) c on c.i = x.i
     where p.i = x.i and p.code is null
       and ((p.kind <= 1 and coalesce(c.postings, 0) < 2) or c.dup or c.unbalanced);

    -- Postings derived from the parent: releases of a hold, the posted part of a capture, or the
    -- mirror of a reversed transfer. Releases come first (ord 1) so a limit never sees a capture
    -- on top of the hold it replaces.
    insert into pt_entry (i, ord, num, asset, flags, closed, debit, pending, amount)
    select p.i, 1, e.account_num, a.asset_id, a.flags, false, e.is_debit, true, -e.amount
      from pt_transfer p
      join settle.entries e on e.transfer_seq = p.parent_seq and e.is_pending and e.amount > 0
      join settle.accounts a on a.num = e.account_num
     where p.code is null and p.kind in (2, 3, 5);
    update pt_transfer p set code = 'partial_post_requires_two_postings'
      from (select e.i from pt_entry e group by e.i having count(*) <> 2) c
     where p.i = c.i and p.code is null and p.kind = 2 and p.amount > 0;
    update pt_transfer p set code = 'exceeds_pending_amount'
     where p.code is null and p.kind = 2 and p.amount > 0
       and exists (select 1 from pt_entry e where e.i = p.i and -e.amount < p.amount);
    insert into pt_entry (i, ord, num, asset, flags, closed, debit, pending, amount)
    select p.i, 2, e.num, e.asset, e.flags, a.closed, e.debit, false,
           case when p.amount > 0 then p.amount else -e.amount end
      from pt_transfer p
      join pt_entry e on e.i = p.i
      join settle.accounts a on a.num = e.num
     where p.code is null and p.kind = 2;
    insert into pt_entry (i, ord, num, asset, flags, closed, debit, pending, amount)
    select p.i, 1, e.account_num, a.asset_id, a.flags, a.closed, not e.is_debit, false, e.amount
      from pt_transfer p
      join settle.entries e on e.transfer_seq = p.parent_seq and not e.is_pending and e.amount > 0
      join settle.accounts a on a.num = e.account_num
     where p.code is null and p.kind = 4;
    update pt_transfer p set code = 'account_closed'
     where p.code is null and p.kind in (2, 4)
       and exists (select 1 from pt_entry e where e.i = p.i and not e.pending and e.closed);

    -- Phase A. Lock the balance rows of the accounts with a limit, in account order (no
    -- deadlocks between batches), then decide every transfer. Accounts without a limit (a hot
    -- merchant, a rail's clearing account) are locked only in phase B, for the few milliseconds
    -- their entries take, so concurrent batches queue on them for the write, not the whole batch.
    -- Lock order is global: limited accounts by number, then unlimited ones by number.
    perform 1
       from settle.balances b
      where b.account_num in (select e.num from pt_entry e join pt_transfer p on p.i = e.i
                               where p.code is null and p.dup_of is null and e.flags <> 0)
      order by b.account_num
        for update of b;

    -- Idempotency, after the lock: a concurrent duplicate has committed or rolled back by now.
    update pt_transfer p
       set exists_seq = t.seq, exists_recorded = t.recorded_at,
           code = case when t.request_hash <> decode(p.hash, 'hex') then 'exists_with_different_fields' end
      from settle.transfers t
     where t.id = p.id and p.dup_of is null;

    update pt_transfer p set code = 'rail_reference_exists'
     where p.code is null and p.exists_seq is null and p.dup_of is null and p.rail <> ''
       and exists (select 1 from settle.transfers t where t.rail = p.rail and t.rail_ref = p.rail_ref);
    update pt_transfer p set code = 'rail_reference_exists'
      from (select x.i, row_number() over (partition by x.rail, x.rail_ref order by x.i) as k
              from pt_transfer x
             where x.code is null and x.exists_seq is null and x.dup_of is null and x.rail <> '') d
     where p.i = d.i and d.k > 1;

    -- State of the parent hold or transfer, read after the lock as well.
    update pt_transfer p
       set code = case c.kind when 2 then 'pending_transfer_already_posted'
                              when 3 then 'pending_transfer_already_voided'
                              when 5 then 'pending_transfer_expired' end
      from settle.transfers c
     where p.code is null and p.exists_seq is null and p.dup_of is null and p.kind in (2, 3, 5)
       and c.parent_seq = p.parent_seq and c.kind in (2, 3, 5);
    update pt_transfer p set code = 'transfer_already_reversed'
      from settle.transfers c
     where p.code is null and p.exists_seq is null and p.dup_of is null and p.kind = 4
       and c.parent_seq = p.parent_seq and c.kind = 4;
    update pt_transfer p set code = 'pending_transfer_expired'
     where p.code is null and p.exists_seq is null and p.kind in (2, 3) and p.parent_expires <= v_now;
    update pt_transfer p set code = 'pending_transfer_not_expired'
     where p.code is null and p.exists_seq is null and p.kind = 5
       and (p.parent_expires is null or p.parent_expires > v_now);
    -- Two resolutions of one hold (or two reversals) in the same batch: the first one wins.
    update pt_transfer p
       set code = case when d.kind = 4 then 'transfer_already_reversed'
                       when d.first_kind = 2 then 'pending_transfer_already_posted'
                       when d.first_kind = 3 then 'pending_transfer_already_voided'
                       else 'pending_transfer_expired' end
      from (select x.i, x.kind, first_value(x.kind) over w as first_kind, row_number() over w as k
              from pt_transfer x
             where x.code is null and x.exists_seq is null and x.dup_of is null and x.kind >= 2
            window w as (partition by x.parent_seq, x.kind = 4 order by x.i)) d
     where p.i = d.i and d.k > 1;

    -- Accounts without a limit are locked only in phase B, so their overflow past 2^256-1 is
    -- checked here on unlocked balances: a cheap sum per account first, the exact per-transfer
    -- pass only if it could happen. (Phase B checks again under the lock.)
    select count(*) into v_violations
      from (select e.num,
                   sum(e.amount) filter (where e.debit and not e.pending and e.amount > 0) as dp,
                   sum(e.amount) filter (where not e.debit and not e.pending and e.amount > 0) as cp,
                   sum(e.amount) filter (where e.debit and e.pending and e.amount > 0) as dpe,
                   sum(e.amount) filter (where not e.debit and e.pending and e.amount > 0) as cpe
              from pt_entry e join pt_transfer p on p.i = e.i
             where e.flags = 0 and p.code is null and p.exists_seq is null and p.dup_of is null
             group by e.num) g
      join settle.balances b on b.account_num = g.num
     where b.debits_posted + coalesce(g.dp, 0) > u256_max or b.credits_posted + coalesce(g.cp, 0) > u256_max
        or b.debits_pending + coalesce(g.dpe, 0) > u256_max or b.credits_pending + coalesce(g.cpe, 0) > u256_max;
    if v_violations > 0 then
        perform settle.run_balances(false);
        update pt_transfer p set code = 'overflow'
          from (select distinct r.i from pt_run r where greatest(r.dp, r.cp, r.dpe, r.cpe) > u256_max) o
         where p.i = o.i and p.code is null;
    end if;

    -- Running balances of the limited accounts, in event order; limits checked at every entry.
    perform settle.run_balances(true);
    select count(*) into v_violations
      from pt_run r
     where (r.flags = 1 and r.dp + r.dpe > r.cp)
        or (r.flags = 2 and r.cp + r.cpe > r.dp)
        or greatest(r.dp, r.cp, r.dpe, r.cpe) > u256_max
        or least(r.dp, r.cp, r.dpe, r.cpe) < 0;
    if v_violations > 0 then
        perform settle.reject_limit_violations(u256_max);
        perform settle.run_balances(true);
    end if;

    if p_atomic and exists (select 1 from pt_transfer p where p.code is not null) then
        update pt_transfer p set code = 'atomic_batch_failed'
         where p.code is null and p.exists_seq is null and p.dup_of is null;
    else
        perform set_config('settle.posting', 'on', true);
        insert into settle.transfers (seq, id, kind, parent_seq, expires_at, effective_at, recorded_at,
                                      rail, rail_ref, metadata, request_hash)
        select p.seq, p.id, p.kind, p.parent_seq,
               case when p.kind = 1 and p.timeout > 0 then v_now + make_interval(secs => p.timeout) end,
               p.effective, v_now, nullif(p.rail, ''), nullif(p.rail_ref, ''),
               nullif(p.metadata, '')::jsonb, decode(p.hash, 'hex')
          from pt_transfer p
         where p.code is null and p.exists_seq is null and p.dup_of is null
         order by p.seq;
        perform settle.write_run(v_now);

        -- Phase B: the accounts without a limit, locked last and briefly.
        perform 1
           from settle.balances b
          where b.account_num in (select e.num from pt_entry e join pt_transfer p on p.i = e.i
                                   where p.code is null and p.exists_seq is null and p.dup_of is null
                                     and e.flags = 0)
          order by b.account_num
            for update of b;
        perform settle.run_balances(false);
        if exists (select 1 from pt_run r where greatest(r.dp, r.cp, r.dpe, r.cpe) > u256_max) then
            raise exception 'settle.post_transfers: a balance would exceed 2^256-1' using errcode = '22003';
        end if;
        perform settle.write_run(v_now);
        perform set_config('settle.posting', 'off', true);
    end if;

    return query
    select p.i,
           case when p.exists_seq is not null and p.code is null then 1::int2
                when p.dup_of is not null and f.code is null then 1::int2
                when p.code is null then 0::int2
                else 2::int2 end,
           coalesce(p.code, case when p.dup_of is not null then f.code end),
           case when p.exists_seq is not null then p.exists_seq
                when p.dup_of is not null then coalesce(f.exists_seq, case when f.code is null then f.seq end)
                when p.code is null then p.seq end,
           case when p.exists_seq is not null then p.exists_recorded
                when p.dup_of is not null then coalesce(f.exists_recorded, case when f.code is null then v_now end)
                when p.code is null then v_now end
      from pt_transfer p
      left join pt_transfer f on f.i = p.dup_of
     order by p.i;
end
$fn$;

-- Fills pt_run with the running balances of the surviving transfers' entries on the limited
-- (p_limited) or unlimited accounts, in event order, from the locked balance rows.
create function settle.run_balances(p_limited boolean) returns void
language plpgsql
set plan_cache_mode = force_custom_plan
as $fn$
begin
    delete from pt_run;
    insert into pt_run (i, ord, num, flags, debit, pending, amount, version, dp, cp, dpe, cpe)
    select e.i, e.ord, e.num, e.flags, e.debit, e.pending, e.amount,
           b.version + row_number() over w,
           b.debits_posted + sum(case when e.debit and not e.pending then e.amount else 0 end) over w,
           b.credits_posted + sum(case when not e.debit and not e.pending then e.amount else 0 end) over w,
           b.debits_pending + sum(case when e.debit and e.pending then e.amount else 0 end) over w,
           b.credits_pending + sum(case when not e.debit and e.pending then e.amount else 0 end) over w
      from pt_entry e
      join pt_transfer p on p.i = e.i
      join settle.balances b on b.account_num = e.num
     where (e.flags <> 0) = p_limited
       and p.code is null and p.exists_seq is null and p.dup_of is null
    window w as (partition by e.num order by e.i, e.ord rows unbounded preceding);
    analyze pt_run;
end
$fn$;

-- Writes pt_run: the entries, and each account's last running balance to its balance row.
create function settle.write_run(p_now timestamptz) returns void
language plpgsql
set plan_cache_mode = force_custom_plan
as $fn$
begin
    insert into settle.entries (account_num, account_version, transfer_seq, effective_at, is_debit,
                                is_pending, amount, debits_posted, credits_posted, debits_pending,
                                credits_pending)
    select r.num, r.version, p.seq, p.effective, r.debit, r.pending, r.amount, r.dp, r.cp, r.dpe, r.cpe
      from pt_run r
      join pt_transfer p on p.i = r.i
     order by r.num, r.version;

    update settle.balances b
       set debits_posted = f.dp, credits_posted = f.cp, debits_pending = f.dpe,
           credits_pending = f.cpe, version = f.version, updated_at = p_now
      from (select distinct on (r.num) r.num, r.version, r.dp, r.cp, r.dpe, r.cpe
              from pt_run r order by r.num, r.version desc) f
     where b.account_num = f.num;
end
$fn$;

-- The sequential pass, run only when the set-based check found a violation: walks the entries of
-- the limited accounts in event order, keeps each account's running counters, and rejects exactly the transfers that would
-- break a limit or overflow given the transfers accepted before them.
create function settle.reject_limit_violations(u256_max numeric) returns void
language plpgsql
as $fn$
declare
    r record;
    cur_i int4 := 0;
    bad text;
    k int4;
    dp numeric[] := '{}'; cp numeric[] := '{}'; dpe numeric[] := '{}'; cpe numeric[] := '{}';
    fl int2[] := '{}';
    -- undo log of the current transfer: account slot and its counters before the change
    u_k int4[] := '{}'; u_dp numeric[] := '{}'; u_cp numeric[] := '{}';
    u_dpe numeric[] := '{}'; u_cpe numeric[] := '{}';
    rej_i int4[] := '{}'; rej_code text[] := '{}';
begin
    for r in
        select e.i, e.flags, e.debit, e.pending, e.amount,
               dense_rank() over (order by e.num)::int4 as slot,
               b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending
          from pt_entry e
          join pt_transfer p on p.i = e.i and p.code is null and p.exists_seq is null and p.dup_of is null
          join settle.balances b on b.account_num = e.num
         where e.flags <> 0
         order by e.i, e.ord
    loop
        if r.i <> cur_i then
            if bad is not null then
                for j in reverse cardinality(u_k) .. 1 loop
                    dp[u_k[j]] := u_dp[j]; cp[u_k[j]] := u_cp[j];
                    dpe[u_k[j]] := u_dpe[j]; cpe[u_k[j]] := u_cpe[j];
                end loop;
                rej_i := rej_i || cur_i; rej_code := rej_code || bad;
            end if;
            cur_i := r.i; bad := null;
            u_k := '{}'; u_dp := '{}'; u_cp := '{}'; u_dpe := '{}'; u_cpe := '{}';
        end if;
        k := r.slot;
        if dp[k] is null then
            dp[k] := r.debits_posted; cp[k] := r.credits_posted;
            dpe[k] := r.debits_pending; cpe[k] := r.credits_pending; fl[k] := r.flags;
        end if;
        u_k := u_k || k; u_dp := u_dp || dp[k]; u_cp := u_cp || cp[k];
        u_dpe := u_dpe || dpe[k]; u_cpe := u_cpe || cpe[k];
        if r.debit and not r.pending then dp[k] := dp[k] + r.amount;
        elsif not r.debit and not r.pending then cp[k] := cp[k] + r.amount;
        elsif r.debit then dpe[k] := dpe[k] + r.amount;
        else cpe[k] := cpe[k] + r.amount;
        end if;
        if bad is null then
            if greatest(dp[k], cp[k], dpe[k], cpe[k]) > u256_max or least(dp[k], cp[k], dpe[k], cpe[k]) < 0 then
                bad := 'overflow';
            elsif fl[k] = 1 and dp[k] + dpe[k] > cp[k] then
                bad := 'exceeds_credits';
            elsif fl[k] = 2 and cp[k] + cpe[k] > dp[k] then
                bad := 'exceeds_debits';
            end if;
        end if;
    end loop;
    if bad is not null then
        rej_i := rej_i || cur_i; rej_code := rej_code || bad;
    end if;
    update pt_transfer p set code = x.code from unnest(rej_i, rej_code) as x(i, code) where p.i = x.i;
end
$fn$;

-- Voids every hold whose timeout has passed, as '~expire:<seq>' transfers (idempotent: a second
-- run, or two runs at once, expire each hold once). Returns how many holds it expired.
create function settle.expire_holds(p_limit int4) returns int4
language plpgsql
as $fn$
declare
    ids text[]; parents text[]; k int4;
    expired int4;
begin
    select array_agg('~expire:' || h.seq order by h.expires_at), array_agg(h.id order by h.expires_at)
      into ids, parents
      from (select t.seq, t.id, t.expires_at
              from settle.transfers t
             where t.kind = 1 and t.expires_at <= now()
               and not exists (select 1 from settle.transfers c
                                where c.parent_seq = t.seq and c.kind in (2, 3, 5))
             order by t.expires_at
             limit p_limit) h;
    if ids is null then
        return 0;
    end if;
    k := cardinality(ids);
    select count(*) filter (where r.status = 0) into expired
      from settle.post_transfers(
               ids, array_fill(5::int2, array[k]), parents, array_fill(-1::numeric, array[k]),
               array_fill(0::int8, array[k]), array_fill(now(), array[k]), array_fill(false, array[k]),
               array_fill(''::text, array[k]), array_fill(''::text, array[k]), array_fill(''::text, array[k]),
               (select array_agg(encode(sha256(convert_to(x, 'UTF8')), 'hex')) from unnest(ids) x),
               '{}'::int4[], '{}'::text[], '{}'::bool[], '{}'::numeric[], false) r;
    return expired;
end
$fn$;
