-- Balancing holds, destination limits, bounds on available, monitor hysteresis
-- (docs/decisions/0043-balancing-holds-and-bounds.md).
--
-- settle.post_transfers, the conditional form of v18, takes two more arrays: c_available_min and
-- c_available_max ('' = none), the bounds a condition puts on the account's available balance
-- (`available_gte`, `available_lte`), checked with the exact amount (`available`) under the same
-- lock and rejected with the same code, balance_mismatch. A balancing transfer is now clamped on
-- both sides, as TigerBeetle's: min(up_to, available(from), room(to)), where room is what the
-- destination's own limit leaves on the side it takes; no room at all is destination_full
-- (before, the destination's limit rejected the transfer with exceeds_credits/exceeds_debits).
-- A balancing transfer of kind 1 (pending) is a balancing hold: the same amount, held; the
-- posting function records it as any hold (timeout, post, void, expiry).
--
-- The 23-argument function of v18 stays, as a call of the new one without bounds, for a binary
-- of the previous version still running during a deploy.
drop function settle.post_transfers(
    text[], int2[], text[], numeric[], int8[], timestamptz[], bool[], text[], text[], text[], text[],
    int4[], text[], bool[], numeric[], boolean, text[], bool[], bool[], int4[], text[], int8[], text[]);

create function settle.post_transfers(
    t_id text[], t_kind int2[], t_parent text[], t_amount numeric[], t_timeout int8[],
    t_effective timestamptz[], t_effective_set bool[], t_metadata text[],
    t_rail text[], t_rail_ref text[], t_hash text[],
    p_tidx int4[], p_account text[], p_debit bool[], p_amount numeric[],
    p_atomic boolean, a_prefix text[], a_key bool[],
    t_balancing bool[], c_tidx int4[], c_account text[], c_version int8[], c_available text[],
    c_available_min text[], c_available_max text[])
returns table (idx int4, status int2, code text, seq bigint, recorded_at timestamptz, amount numeric)
language plpgsql
set client_min_messages = warning
as $fn$
#variable_conflict use_column
declare
    n int4 := coalesce(cardinality(t_id), 0);
    v_special bool[];
    v_status int2[];
    v_code text[];
    v_seq int8[];
    v_recorded timestamptz[];
    v_amount numeric[];
    v_debit bool[] := p_debit;
    v_pamount numeric[] := p_amount;
    v_pos int4[];
    v_from record;
    v_move numeric;
    v_room numeric;
    v_pre text;
    v_created int8[] := '{}';
    s int4;
    f int4;
    e int4;
    r record;
begin
    if n = 0 then
        return;
    end if;
    if coalesce(cardinality(t_balancing), 0) <> n or coalesce(cardinality(a_prefix), 0) <> n
        or coalesce(cardinality(c_account), 0) <> coalesce(cardinality(c_tidx), 0)
        or coalesce(cardinality(c_version), 0) <> coalesce(cardinality(c_tidx), 0)
        or coalesce(cardinality(c_available), 0) <> coalesce(cardinality(c_tidx), 0)
        or coalesce(cardinality(c_available_min), 0) <> coalesce(cardinality(c_tidx), 0)
        or coalesce(cardinality(c_available_max), 0) <> coalesce(cardinality(c_tidx), 0) then
        raise exception 'settle.post_transfers: condition or balancing arrays differ in length' using errcode = '22023';
    end if;

    v_special := array(select t_balancing[g.i] or exists (select 1 from unnest(c_tidx) c(i) where c.i = g.i)
                         from generate_series(1, n) g(i) order by g.i);
    v_status := array_fill(null::int2, array[n]);
    v_code := array_fill(null::text, array[n]);
    v_seq := array_fill(null::int8, array[n]);
    v_recorded := array_fill(null::timestamptz, array[n]);
    v_amount := array_fill(null::numeric, array[n]);

    -- Every account the batch can touch, in the global order, held until commit: the explicit
    -- postings' and those of the transfers it resolves (which never change once written).
    perform 1
       from settle.balances b
       join settle.accounts a on a.num = b.account_num
      where b.account_num in (select x.num from settle.accounts x where x.id = any(p_account)
                              union
                              select en.account_num
                                from settle.transfers t
                                join settle.entries en on en.transfer_seq = t.seq
                               where t.id = any(t_parent))
      order by a.flags = 0, b.account_num
        for update of b;

    begin
        s := 1;
        while s <= n loop
            e := s;
            while e < n and not v_special[e + 1] loop
                e := e + 1;
            end loop;
            f := s;

            -- The head of the segment, when conditional or balancing and not already recorded (a
            -- retry is answered by the posting function as any other: exists, whatever the
            -- balances are now).
            if v_special[s] and not exists (select 1 from settle.transfers t where t.id = t_id[s]) then
                v_pre := null;
                -- The poster's authority first: a condition must not tell a key anything about an
                -- account outside its prefix.
                if a_prefix[s] <> '' and exists (select 1 from unnest(p_tidx, p_account) p(i, acc)
                                                  where p.i = s and not starts_with(p.acc, a_prefix[s])) then
                    v_pre := 'forbidden_account';
                elsif exists (select 1 from unnest(c_tidx, c_account) c(i, acc)
                               where c.i = s
                                 and not exists (select 1 from unnest(p_tidx, p_account) p(i, acc)
                                                  where p.i = s and p.acc = c.acc)) then
                    v_pre := 'invalid_condition';
                elsif exists (select 1
                                from unnest(c_tidx, c_account, c_version) c(i, acc, version)
                                join settle.accounts a on a.id = c.acc
                                join settle.balances b on b.account_num = a.num
                               where c.i = s and c.version >= 0 and b.version <> c.version) then
                    v_pre := 'version_mismatch';
                elsif exists (select 1
                                from (select c.available, c.lo, c.hi,
                                             case a.normal
                                             when 'C' then b.credits_posted - b.debits_posted - b.debits_pending
                                             else b.debits_posted - b.credits_posted - b.credits_pending end as now
                                        from unnest(c_tidx, c_account, c_available, c_available_min, c_available_max)
                                             c(i, acc, available, lo, hi)
                                        join settle.accounts a on a.id = c.acc
                                        join settle.balances b on b.account_num = a.num
                                       where c.i = s) x
                               where (x.available <> '' and x.now <> x.available::numeric)
                                  or (x.lo <> '' and x.now < x.lo::numeric)
                                  or (x.hi <> '' and x.now > x.hi::numeric)) then
                    v_pre := 'balance_mismatch';
                end if;

                if v_pre is null and t_balancing[s] then
                    v_pos := array(select p.o::int4 from unnest(p_tidx) with ordinality p(i, o) where p.i = s order by p.o);
                    if cardinality(v_pos) <> 2 then
                        raise exception 'settle.post_transfers: a balancing transfer takes two postings' using errcode = '22023';
                    end if;
                    select a.normal, a.closed, a.asset_id,
                           case a.normal when 'C' then b.credits_posted - b.debits_posted - b.debits_pending
                                else b.debits_posted - b.credits_posted - b.credits_pending end as available
                      into v_from
                      from settle.accounts a join settle.balances b on b.account_num = a.num
                     where a.id = p_account[v_pos[1]];
                    -- An unknown or closed account is the posting function's to refuse.
                    if found and not v_from.closed then
                        v_move := least(p_amount[v_pos[1]], v_from.available);
                        -- The destination's room under its own limit, on the side it takes (it is
                        -- credited when the source is credit-normal), pending amounts counted as the
                        -- limit check counts them. An unknown, closed or other-asset destination is
                        -- the posting function's to refuse.
                        v_room := null;
                        select case
                               when v_from.normal = 'C' and a.flags = 2
                                   then b.debits_posted - b.credits_posted - b.credits_pending
                               when v_from.normal <> 'C' and a.flags = 1
                                   then b.credits_posted - b.debits_posted - b.debits_pending end
                          into v_room
                          from settle.accounts a join settle.balances b on b.account_num = a.num
                         where a.id = p_account[v_pos[2]] and not a.closed and a.asset_id = v_from.asset_id;
                        if v_move <= 0 then
                            v_pre := 'nothing_available';
                        elsif v_room is not null and v_room <= 0 then
                            v_pre := 'destination_full';
                        else
                            v_move := least(v_move, v_room);
                            -- The source gives up its normal side: a credit-normal account is
                            -- debited, a debit-normal one credited; the destination takes the other.
                            v_debit[v_pos[1]] := v_from.normal = 'C';
                            v_debit[v_pos[2]] := v_from.normal <> 'C';
                            v_pamount[v_pos[1]] := v_move;
                            v_pamount[v_pos[2]] := v_move;
                        end if;
                    end if;
                end if;

                if v_pre is not null then
                    v_status[s] := 2;
                    v_code[s] := v_pre;
                    f := s + 1;
                end if;
            end if;

            if f <= e then
                for r in
                    select * from settle.post_transfers(
                        t_id[f:e], t_kind[f:e], t_parent[f:e], t_amount[f:e], t_timeout[f:e], t_effective[f:e],
                        t_effective_set[f:e], t_metadata[f:e], t_rail[f:e], t_rail_ref[f:e], t_hash[f:e],
                        array(select p.i - f + 1 from unnest(p_tidx) with ordinality p(i, o)
                               where p.i between f and e order by p.o)::int4[],
                        array(select p_account[p.o::int4] from unnest(p_tidx) with ordinality p(i, o)
                               where p.i between f and e order by p.o),
                        array(select v_debit[p.o::int4] from unnest(p_tidx) with ordinality p(i, o)
                               where p.i between f and e order by p.o),
                        array(select v_pamount[p.o::int4] from unnest(p_tidx) with ordinality p(i, o)
                               where p.i between f and e order by p.o),
                        false, a_prefix[f:e], a_key[f:e])
                loop
                    v_status[f + r.idx - 1] := r.status;
                    v_code[f + r.idx - 1] := r.code;
                    v_seq[f + r.idx - 1] := r.seq;
                    v_recorded[f + r.idx - 1] := r.recorded_at;
                    if r.status = 0 then
                        v_created := v_created || r.seq;
                    end if;
                end loop;
            end if;
            s := e + 1;
        end loop;

        -- Amounts moved by the balancing transfers, as recorded (by this call or an earlier one).
        select array_agg(case when t_balancing[g.i] and v_status[g.i] <= 1
                              then (select max(en.amount) from settle.entries en where en.transfer_seq = v_seq[g.i]) end
                         order by g.i)
          into v_amount
          from generate_series(1, n) g(i);

        if p_atomic and 2 = any(v_status) then
            raise exception 'atomic batch rejected' using errcode = 'SG4AB';
        end if;
    exception when sqlstate 'SG4AB' then
        -- Nothing of the batch stays: what this call created (or answered as existing because it
        -- created it earlier in the batch) fails with the batch.
        for g in 1 .. n loop
            if v_status[g] = 0 or (v_status[g] = 1 and v_seq[g] = any(v_created)) then
                v_status[g] := 2;
                v_code[g] := 'atomic_batch_failed';
                v_seq[g] := null;
                v_recorded[g] := null;
                v_amount[g] := null;
            end if;
        end loop;
    end;

    return query
    select g.i, v_status[g.i], v_code[g.i], v_seq[g.i], v_recorded[g.i], v_amount[g.i]
      from generate_series(1, n) g(i)
     order by g.i;
end
$fn$;

create function settle.post_transfers(
    t_id text[], t_kind int2[], t_parent text[], t_amount numeric[], t_timeout int8[],
    t_effective timestamptz[], t_effective_set bool[], t_metadata text[],
    t_rail text[], t_rail_ref text[], t_hash text[],
    p_tidx int4[], p_account text[], p_debit bool[], p_amount numeric[],
    p_atomic boolean, a_prefix text[], a_key bool[],
    t_balancing bool[], c_tidx int4[], c_account text[], c_version int8[], c_available text[])
returns table (idx int4, status int2, code text, seq bigint, recorded_at timestamptz, amount numeric)
language sql
as $fn$
    select * from settle.post_transfers(
        t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set, t_metadata,
        t_rail, t_rail_ref, t_hash, p_tidx, p_account, p_debit, p_amount, p_atomic, a_prefix, a_key,
        t_balancing, c_tidx, c_account, c_version, c_available,
        array_fill(''::text, array[coalesce(cardinality(c_tidx), 0)]),
        array_fill(''::text, array[coalesce(cardinality(c_tidx), 0)]))
$fn$;

-- Monitor hysteresis: a monitor with a re-arm level fires on a crossing only while armed; firing
-- disarms it, and it is armed again by the first transfer after which the balance is at or past
-- the re-arm level (at least it for lt/lte, at most it for gt/gte: the far side of the threshold).
-- A balance oscillating around the threshold then fires once, not on every crossing. The state
-- changes in the transaction that writes the transfer, under the account's balance lock (the
-- writer holds it until commit), so concurrent writers see one sequence of states. A monitor
-- without a re-arm level fires on every crossing, as before.
alter table settle.balance_monitors
    add column rearm numeric(78, 0)
        check (abs(rearm) <= 115792089237316195423570985008687907853269984665640564039457584007913129639935),
    add column armed boolean not null default true,
    add constraint balance_monitors_rearm_side
        check (rearm is null or (operator in ('lt', 'lte') and rearm > threshold)
               or (operator in ('gt', 'gte') and rearm < threshold));

create function settle.monitor_rearmed(p_operator text, p_value numeric, p_rearm numeric) returns boolean
language sql immutable as $$
    select case when p_operator in ('lt', 'lte') then p_value >= p_rearm else p_value <= p_rearm end
$$;

create or replace function settle.outbox_monitors() returns trigger
language plpgsql as $$
declare
    r record;
    v_armed boolean;
begin
    if not exists (select 1 from settle.balance_monitors) then
        return null;
    end if;
    -- Per transfer and monitored account, in the account's order: the crossings, and for monitors
    -- with a re-arm level the transfers that take the balance past it (one that was past it before
    -- the transfer has nothing to re-arm: only a firing disarms, and a firing leaves the balance on
    -- the threshold's side).
    for r in
        select x.*,
               settle.monitor_holds(x.operator, x.value, x.threshold)
                   and not settle.monitor_holds(x.operator, x.before, x.threshold) as crossed
          from (select m.num, m.id as monitor, m.balance, m.operator, m.threshold, m.rearm, g.account_num,
                       g.v1 as account_version, g.transfer_seq,
                       settle.monitor_value(a.normal, m.balance, e.debits_posted, e.credits_posted,
                                            e.debits_pending, e.credits_pending) as value,
                       settle.monitor_value(a.normal, m.balance,
                                            coalesce(p.debits_posted, 0), coalesce(p.credits_posted, 0),
                                            coalesce(p.debits_pending, 0), coalesce(p.credits_pending, 0)) as before
                  from (select n.account_num, n.transfer_seq, min(n.account_version) as v0, max(n.account_version) as v1
                          from new_entries n
                         where n.account_num in (select bm.account_num from settle.balance_monitors bm)
                         group by n.account_num, n.transfer_seq) g
                  join settle.balance_monitors m on m.account_num = g.account_num
                  join settle.accounts a on a.num = g.account_num
                  join settle.entries e on e.account_num = g.account_num and e.account_version = g.v1
                  left join settle.entries p on p.account_num = g.account_num and p.account_version = g.v0 - 1) x
         where (settle.monitor_holds(x.operator, x.value, x.threshold)
                and not settle.monitor_holds(x.operator, x.before, x.threshold))
            or (x.rearm is not null and settle.monitor_rearmed(x.operator, x.value, x.rearm)
                and not settle.monitor_rearmed(x.operator, x.before, x.rearm))
         order by x.account_num, x.account_version, x.monitor
    loop
        if r.rearm is not null then
            select m.armed into v_armed from settle.balance_monitors m where m.num = r.num;
            if not v_armed then
                if settle.monitor_rearmed(r.operator, r.value, r.rearm) then
                    update settle.balance_monitors m set armed = true where m.num = r.num;
                end if;
                continue;
            end if;
            if not r.crossed then
                continue;
            end if;
            update settle.balance_monitors m set armed = false where m.num = r.num;
        end if;
        insert into settle.outbox (kind, refs, count, payload)
        values (3, array[r.transfer_seq], 1,
                jsonb_build_object('monitor', r.monitor, 'account_num', r.account_num,
                                   'account_version', r.account_version, 'balance', r.balance,
                                   'operator', r.operator, 'threshold', r.threshold::text, 'value', r.value::text));
    end loop;
    return null;
end
$$;
