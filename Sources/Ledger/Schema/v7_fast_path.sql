-- The posting function's fast path (docs/decisions/0010-posting-fast-path.md).
--
-- The checked function of v2 decides every case (rejections, duplicates, holds and their
-- resolutions, limit races inside a batch) on staging tables it analyzes and plans for each call:
-- a few milliseconds per call whatever the batch size. Most batches are plain: fresh ids, posted
-- transfers or new holds with explicit postings, nothing to reject. The new settle.post_transfers
-- proves that with a handful of array statements whose plans are made once per connection, and
-- writes such a batch itself; for anything else it writes nothing and hands the batch to the
-- checked function, which stays the only definition of every rejection.
alter function settle.post_transfers(
    text[], int2[], text[], numeric[], int8[], timestamptz[], bool[], text[], text[], text[], text[],
    int4[], text[], bool[], numeric[], boolean)
    rename to post_transfers_checked;
-- The fast path plans once with sequential scans off (index probes whatever the first batch looked
-- like); the checked function plans per call and must see the planner's defaults.
alter function settle.post_transfers_checked(
    text[], int2[], text[], numeric[], int8[], timestamptz[], bool[], text[], text[], text[], text[],
    int4[], text[], bool[], numeric[], boolean)
    set enable_seqscan = on;

create function settle.post_transfers(
    t_id text[], t_kind int2[], t_parent text[], t_amount numeric[], t_timeout int8[],
    t_effective timestamptz[], t_effective_set bool[], t_metadata text[],
    t_rail text[], t_rail_ref text[], t_hash text[],
    p_tidx int4[], p_account text[], p_debit bool[], p_amount numeric[],
    p_atomic boolean)
returns table (idx int4, status int2, code text, seq bigint, recorded_at timestamptz)
language plpgsql
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set random_page_cost = 1.1
set client_min_messages = warning
as $fn$
#variable_conflict use_column
declare
    n int4 := coalesce(cardinality(t_id), 0);
    m int4 := coalesce(cardinality(p_tidx), 0);
    v_now timestamptz := now();
    u256_max constant numeric := 115792089237316195423570985008687907853269984665640564039457584007913129639935;
    v_ok boolean;
    v_seqs int8[];
    e_num int8[];
    e_flags int2[];
    v_limited int8[];
    v_unlimited int8[];
begin
    -- Input the checked function refuses (or an empty batch) is its to answer.
    if n = 0 or m < 2 * n or cardinality(t_kind) <> n or cardinality(t_parent) <> n
        or cardinality(t_amount) <> n or cardinality(t_timeout) <> n or cardinality(t_effective) <> n
        or cardinality(t_effective_set) <> n or cardinality(t_metadata) <> n or cardinality(t_rail) <> n
        or cardinality(t_rail_ref) <> n or cardinality(t_hash) <> n or cardinality(p_account) <> m
        or cardinality(p_debit) <> m or cardinality(p_amount) <> m then
        return query select * from settle.post_transfers_checked(
            t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set, t_metadata,
            t_rail, t_rail_ref, t_hash, p_tidx, p_account, p_debit, p_amount, p_atomic);
        return;
    end if;

    -- Plain transfers only: posted or a new hold, distinct ids and rail references, fields the
    -- checked function would accept.
    select count(*) = n and count(distinct x.id) = n
           and count(distinct (x.rail, x.ref)) filter (where x.rail <> '') = count(*) filter (where x.rail <> '')
      into v_ok
      from unnest(t_id, t_kind, t_parent, t_amount, t_timeout, t_metadata, t_rail, t_rail_ref)
           as x(id, kind, parent, amount, timeout, meta, rail, ref)
     where x.kind in (0, 1) and x.parent = '' and x.amount < 0 and x.timeout >= 0
       and (x.timeout = 0 or x.kind = 1)
       and (x.meta = '' or jsonb_typeof(x.meta::jsonb) = 'object')
       and (x.rail = '') = (x.ref = '') and length(x.rail) <= 32 and length(x.ref) <= 256;

    -- Postings: known open accounts, positive amounts; each transfer has two or more postings on
    -- distinct accounts of one asset, balanced.
    if v_ok then
        with p as materialized (
            select u.i, u.o, a.num, a.flags, a.asset_id, a.closed, u.d, u.amt
              from unnest(p_tidx, p_account, p_debit, p_amount) with ordinality as u(i, acc, d, amt, o)
              left join settle.accounts a on a.id = u.acc)
        select (select array_agg(p.num order by p.o) from p),
               (select array_agg(p.flags order by p.o) from p),
               (select array_agg(distinct p.num) filter (where p.flags <> 0) from p),
               (select array_agg(distinct p.num) filter (where p.flags = 0) from p),
               (select bool_and(p.num is not null and not p.closed and p.amt > 0 and p.i between 1 and n) from p)
               and (select count(*) = n and bool_and(g.k >= 2 and g.accounts = g.k and g.assets = 1 and g.net = 0)
                      from (select p.i, count(*) as k, count(distinct p.num) as accounts,
                                   count(distinct p.asset_id) as assets,
                                   sum(case when p.d then p.amt else -p.amt end) as net
                              from p group by p.i) g)
          into e_num, e_flags, v_limited, v_unlimited, v_ok;
    end if;

    -- Accounts with a limit are locked first and in account order, as the checked function does
    -- (one global lock order); ids are looked up after the lock, so concurrent duplicates
    -- serialise on it.
    if v_ok and v_limited is not null then
        perform 1 from settle.balances b where b.account_num = any(v_limited) order by b.account_num for update of b;
    end if;
    if v_ok then
        v_ok := not exists (select 1 from settle.transfers t where t.id = any(t_id))
            and not exists (select 1
                              from unnest(t_rail, t_rail_ref) as r(rail, ref)
                              join settle.transfers t on t.rail = r.rail and t.rail_ref = r.ref
                             where r.rail <> '');
    end if;

    if v_ok then
        v_seqs := array(select nextval('settle.transfer_seq') from generate_series(1, n));
        perform set_config('settle.posting', 'on', true);
        -- Phase A: running balances of the limited accounts; if any limit or counter would break,
        -- or an unlimited account could pass 2^256-1, nothing is written here.
        with e as (
            select u.i, u.o, u.num, u.flags, u.d, t_kind[u.i] = 1 as pending, u.amt
              from unnest(p_tidx, e_num, e_flags, p_debit, p_amount) with ordinality as u(i, num, flags, d, amt, o)),
        run as materialized (
            select e.i, e.o, e.num, e.flags, e.d, e.pending, e.amt,
                   b.version + row_number() over w as version,
                   b.debits_posted + sum(case when e.d and not e.pending then e.amt else 0 end) over w as dp,
                   b.credits_posted + sum(case when not e.d and not e.pending then e.amt else 0 end) over w as cp,
                   b.debits_pending + sum(case when e.d and e.pending then e.amt else 0 end) over w as dpe,
                   b.credits_pending + sum(case when not e.d and e.pending then e.amt else 0 end) over w as cpe
              from e join settle.balances b on b.account_num = e.num
             where e.flags <> 0
            window w as (partition by e.num order by e.i, e.o rows unbounded preceding)),
        bad as materialized (
            select exists (select 1 from run r
                            where (r.flags = 1 and r.dp + r.dpe > r.cp) or (r.flags = 2 and r.cp + r.cpe > r.dp)
                               or greatest(r.dp, r.cp, r.dpe, r.cpe) > u256_max)
                or exists (select 1
                             from (select e.num,
                                          sum(e.amt) filter (where e.d and not e.pending) as dp,
                                          sum(e.amt) filter (where not e.d and not e.pending) as cp,
                                          sum(e.amt) filter (where e.d and e.pending) as dpe,
                                          sum(e.amt) filter (where not e.d and e.pending) as cpe
                                     from e where e.flags = 0 group by e.num) g
                             join settle.balances b on b.account_num = g.num
                            where b.debits_posted + coalesce(g.dp, 0) > u256_max
                               or b.credits_posted + coalesce(g.cp, 0) > u256_max
                               or b.debits_pending + coalesce(g.dpe, 0) > u256_max
                               or b.credits_pending + coalesce(g.cpe, 0) > u256_max) as b),
        ins_t as (
            insert into settle.transfers (seq, id, kind, parent_seq, expires_at, effective_at, recorded_at,
                                          rail, rail_ref, metadata, request_hash)
            select v_seqs[x.i], x.id, x.kind, null,
                   case when x.kind = 1 and x.timeout > 0 then v_now + make_interval(secs => x.timeout) end,
                   case when x.eset then x.eff else v_now end, v_now, nullif(x.rail, ''), nullif(x.ref, ''),
                   nullif(x.meta, '')::jsonb, decode(x.hash, 'hex')
              from unnest(t_id, t_kind, t_timeout, t_effective, t_effective_set, t_metadata, t_rail, t_rail_ref, t_hash)
                   with ordinality as x(id, kind, timeout, eff, eset, meta, rail, ref, hash, i)
             where not (select bad.b from bad)
             order by x.i),
        ins_e as (
            insert into settle.entries (account_num, account_version, transfer_seq, effective_at, is_debit,
                                        is_pending, amount, debits_posted, credits_posted, debits_pending,
                                        credits_pending)
            select r.num, r.version, v_seqs[r.i], case when t_effective_set[r.i] then t_effective[r.i] else v_now end,
                   r.d, r.pending, r.amt, r.dp, r.cp, r.dpe, r.cpe
              from run r
             where not (select bad.b from bad)
             order by r.num, r.version),
        upd as (
            update settle.balances b
               set debits_posted = f.dp, credits_posted = f.cp, debits_pending = f.dpe,
                   credits_pending = f.cpe, version = f.version, updated_at = v_now
              from (select distinct on (r.num) r.num, r.version, r.dp, r.cp, r.dpe, r.cpe
                      from run r order by r.num, r.version desc) f
             where b.account_num = f.num and not (select bad.b from bad))
        select not bad.b into v_ok from bad;
    end if;

    if not coalesce(v_ok, false) then
        perform set_config('settle.posting', 'off', true);
        return query select * from settle.post_transfers_checked(
            t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set, t_metadata,
            t_rail, t_rail_ref, t_hash, p_tidx, p_account, p_debit, p_amount, p_atomic);
        return;
    end if;

    -- Phase B: the accounts without a limit (hot merchants, clearing accounts), locked last and
    -- briefly. Their overflow was ruled out on unlocked balances; a concurrent batch can still
    -- have moved them, and then the whole call fails as in the checked function.
    if v_unlimited is not null then
        perform 1 from settle.balances b where b.account_num = any(v_unlimited) order by b.account_num for update of b;
        with run as materialized (
            select e.i, e.num, e.d, e.pending, e.amt,
                   b.version + row_number() over w as version,
                   b.debits_posted + sum(case when e.d and not e.pending then e.amt else 0 end) over w as dp,
                   b.credits_posted + sum(case when not e.d and not e.pending then e.amt else 0 end) over w as cp,
                   b.debits_pending + sum(case when e.d and e.pending then e.amt else 0 end) over w as dpe,
                   b.credits_pending + sum(case when not e.d and e.pending then e.amt else 0 end) over w as cpe
              from (select u.i, u.o, u.num, u.d, t_kind[u.i] = 1 as pending, u.amt
                      from unnest(p_tidx, e_num, e_flags, p_debit, p_amount) with ordinality as u(i, num, flags, d, amt, o)
                     where u.flags = 0) e
              join settle.balances b on b.account_num = e.num
            window w as (partition by e.num order by e.i, e.o rows unbounded preceding)),
        ins_e as (
            insert into settle.entries (account_num, account_version, transfer_seq, effective_at, is_debit,
                                        is_pending, amount, debits_posted, credits_posted, debits_pending,
                                        credits_pending)
            select r.num, r.version, v_seqs[r.i], case when t_effective_set[r.i] then t_effective[r.i] else v_now end,
                   r.d, r.pending, r.amt, r.dp, r.cp, r.dpe, r.cpe
              from run r
             order by r.num, r.version),
        upd as (
            update settle.balances b
               set debits_posted = f.dp, credits_posted = f.cp, debits_pending = f.dpe,
                   credits_pending = f.cpe, version = f.version, updated_at = v_now
              from (select distinct on (r.num) r.num, r.version, r.dp, r.cp, r.dpe, r.cpe
                      from run r order by r.num, r.version desc) f
             where b.account_num = f.num)
        select not exists (select 1 from run r where greatest(r.dp, r.cp, r.dpe, r.cpe) > u256_max) into v_ok;
        if not v_ok then
            raise exception 'settle.post_transfers: a balance would exceed 2^256-1' using errcode = '22003';
        end if;
    end if;
    perform set_config('settle.posting', 'off', true);

    return query select g.i, 0::int2, null::text, v_seqs[g.i], v_now from generate_series(1, n) as g(i);
end
$fn$;
