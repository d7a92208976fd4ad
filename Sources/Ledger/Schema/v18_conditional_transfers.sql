-- Conditional and balancing transfers (docs/decisions/0030-conditional-and-balancing-transfers.md).
--
-- A batch with a condition (the version or available balance an account must have before the
-- transfer) or a balancing transfer (move at most an amount, or everything available, from an
-- account) is posted through this function; a batch with neither goes straight to the
-- eighteen-argument settle.post_transfers, which stays the only definition of every other check.
--
-- How: every account the batch can touch is locked first, in the global lock order (limited
-- accounts by number, then the others by number), so that nothing moves them until commit. The
-- batch is then cut before each conditional or balancing transfer into segments that are posted
-- in order by settle.post_transfers, in this transaction: a segment's transfers are written before
-- the next one's head is decided, so a condition or a balancing amount sees exactly the balances
-- the transfers accepted before it left, whatever the checks made of them.
--
-- Extra input: t_balancing (item i moves min(p_amount, available) from its first posting's
-- account to its second's, the directions coming from the first account's normal side);
-- c_tidx, c_account, c_version (-1 = none), c_available ('' = none): the conditions.
-- Extra output: amount, the amount a balancing transfer moved (created or exists), else null.
create function settle.post_transfers(
    t_id text[], t_kind int2[], t_parent text[], t_amount numeric[], t_timeout int8[],
    t_effective timestamptz[], t_effective_set bool[], t_metadata text[],
    t_rail text[], t_rail_ref text[], t_hash text[],
    p_tidx int4[], p_account text[], p_debit bool[], p_amount numeric[],
    p_atomic boolean, a_prefix text[], a_key bool[],
    t_balancing bool[], c_tidx int4[], c_account text[], c_version int8[], c_available text[])
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
        or coalesce(cardinality(c_available), 0) <> coalesce(cardinality(c_tidx), 0) then
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
                                from unnest(c_tidx, c_account, c_available) c(i, acc, available)
                                join settle.accounts a on a.id = c.acc
                                join settle.balances b on b.account_num = a.num
                               where c.i = s and c.available <> ''
                                 and c.available::numeric <> case a.normal
                                         when 'C' then b.credits_posted - b.debits_posted - b.debits_pending
                                         else b.debits_posted - b.credits_posted - b.credits_pending end) then
                    v_pre := 'balance_mismatch';
                end if;

                if v_pre is null and t_balancing[s] then
                    v_pos := array(select p.o::int4 from unnest(p_tidx) with ordinality p(i, o) where p.i = s order by p.o);
                    if cardinality(v_pos) <> 2 then
                        raise exception 'settle.post_transfers: a balancing transfer takes two postings' using errcode = '22023';
                    end if;
                    select a.normal, a.closed,
                           case a.normal when 'C' then b.credits_posted - b.debits_posted - b.debits_pending
                                else b.debits_posted - b.credits_posted - b.credits_pending end as available
                      into v_from
                      from settle.accounts a join settle.balances b on b.account_num = a.num
                     where a.id = p_account[v_pos[1]];
                    -- An unknown or closed account is the posting function's to refuse.
                    if found and not v_from.closed then
                        v_move := least(p_amount[v_pos[1]], v_from.available);
                        if v_move <= 0 then
                            v_pre := 'nothing_available';
                        else
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
