-- Who posts, checked inside the posting call (docs/decisions/0012-atomic-authorization.md).
--
-- An API key limited to an account prefix may only touch accounts under it, directly or through
-- the transfer it posts, voids or reverses; and no API key may write the rails' namespace (transfer
-- ids `<rail>:...` and rail references of a registered rail), where RailBooker books what rails
-- report. Both are decided here, on what is committed when the batch is checked, and a target not
-- visible then is refused as not found: the posting function it hands the rest to resolves the
-- same targets (transfers and their entries never change), so nothing created between the check
-- and the posting can slip through it.

-- The rails whose namespace is reserved: registered by RailBooker.install.
create table settle.rails (
    id text primary key check (id ~ '^[a-z0-9][a-z0-9._-]{0,31}$'),
    registered_at timestamptz not null default now()
);

-- Rails that booked before this version are registered as they are.
insert into settle.rails (id)
select t.rail from settle.transfers t where t.rail ~ '^[a-z0-9][a-z0-9._-]{0,31}$'
union
select c.rail from settle.rail_cursors c
on conflict do nothing;

-- The posting call with the poster's authority, one per transfer (group commit mixes callers):
-- a_prefix: the accounts it may touch ('' = every account); a_key: an API key, kept out of the
-- rails' namespace. The ledger's own writers (rails, hold expiry, the command line) pass '' and
-- false and go straight to the unrestricted function.
create function settle.post_transfers(
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
    n int4 := coalesce(cardinality(t_id), 0);
    v_code text[];
    v_new int4[];
    k_tidx int4[];
    k_account text[];
    k_debit bool[];
    k_amount numeric[];
begin
    if n > 0 and (coalesce(cardinality(a_prefix), 0) <> n or coalesce(cardinality(a_key), 0) <> n) then
        raise exception 'settle.post_transfers: authority arrays differ in length' using errcode = '22023';
    end if;
    if n = 0 or not exists (select 1 from unnest(a_prefix, a_key) as a(prefix, key) where a.prefix <> '' or a.key) then
        return query select * from settle.post_transfers(
            t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set, t_metadata,
            t_rail, t_rail_ref, t_hash, p_tidx, p_account, p_debit, p_amount, p_atomic);
        return;
    end if;

    -- One refusal code per transfer ('' = none). A parent (the hold to post or void, the transfer
    -- to reverse, or a related one) must be visible now and touch only the poster's accounts;
    -- either way a refused one reads as not found, so a key learns nothing of other tenants.
    select array_agg(coalesce(r.code, '') order by r.i) into v_code
      from (select x.i,
                   case
                   when x.key and ((strpos(x.id, ':') > 0
                                    and exists (select 1 from settle.rails r where r.id = split_part(x.id, ':', 1)))
                                   or (x.rail <> '' and exists (select 1 from settle.rails r where r.id = x.rail)))
                       then 'reserved_namespace'
                   when x.prefix = '' then null
                   when exists (select 1 from unnest(p_tidx, p_account) as p(i, account)
                                 where p.i = x.i and not starts_with(p.account, x.prefix))
                       then 'forbidden_account'
                   when x.parent <> ''
                        and not exists (select 1 from settle.transfers t
                                         where t.id = x.parent
                                           and not exists (select 1
                                                             from settle.entries e
                                                             join settle.accounts a on a.num = e.account_num
                                                            where e.transfer_seq = t.seq
                                                              and not starts_with(a.id, x.prefix)))
                       then case when x.kind in (2, 3, 5) then 'pending_transfer_not_found'
                                 when x.kind = 4 then 'transfer_not_found'
                                 else 'parent_not_found' end
                   end as code
              from unnest(t_id, t_kind, t_parent, t_rail, a_prefix, a_key) with ordinality
                   as x(id, kind, parent, rail, prefix, key, i)) r;

    if not exists (select 1 from unnest(v_code) as c(code) where c.code <> '') then
        return query select * from settle.post_transfers(
            t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set, t_metadata,
            t_rail, t_rail_ref, t_hash, p_tidx, p_account, p_debit, p_amount, p_atomic);
        return;
    end if;

    -- An atomic batch with a refusal writes nothing: the others exist already or fail with it.
    if p_atomic then
        return query
        select x.i::int4,
               case when v_code[x.i] = '' and t.seq is not null then 1::int2 else 2::int2 end,
               case when v_code[x.i] <> '' then v_code[x.i]
                    when t.seq is null then 'atomic_batch_failed' end,
               t.seq, t.recorded_at
          from unnest(t_id, t_hash) with ordinality as x(id, hash, i)
          left join settle.transfers t on t.id = x.id and t.request_hash = decode(x.hash, 'hex') and v_code[x.i] = ''
         order by x.i;
        return;
    end if;

    -- The others go to the posting function as a batch of their own, renumbered.
    v_new := array(select case when v_code[g.i] = '' then count(*) filter (where v_code[g.i] = '') over (order by g.i) else 0 end
                     from generate_series(1, n) as g(i) order by g.i);
    select coalesce(array_agg(v_new[p.i] order by p.o), '{}'), coalesce(array_agg(p.account order by p.o), '{}'),
           coalesce(array_agg(p.debit order by p.o), '{}'), coalesce(array_agg(p.amount order by p.o), '{}')
      into k_tidx, k_account, k_debit, k_amount
      from unnest(p_tidx, p_account, p_debit, p_amount) with ordinality as p(i, account, debit, amount, o)
     where v_code[p.i] = '';
    return query
    with kept as (
        select x.i, x.id, x.kind, x.parent, x.amount, x.timeout, x.eff, x.eset, x.meta, x.rail, x.ref, x.hash
          from unnest(t_id, t_kind, t_parent, t_amount, t_timeout, t_effective, t_effective_set, t_metadata,
                      t_rail, t_rail_ref, t_hash) with ordinality
               as x(id, kind, parent, amount, timeout, eff, eset, meta, rail, ref, hash, i)
         where v_code[x.i] = ''),
    posted as (
        select r.idx, r.status, r.code, r.seq, r.recorded_at
          from settle.post_transfers(
                   array(select k.id from kept k order by k.i), array(select k.kind from kept k order by k.i),
                   array(select k.parent from kept k order by k.i), array(select k.amount from kept k order by k.i),
                   array(select k.timeout from kept k order by k.i), array(select k.eff from kept k order by k.i),
                   array(select k.eset from kept k order by k.i), array(select k.meta from kept k order by k.i),
                   array(select k.rail from kept k order by k.i), array(select k.ref from kept k order by k.i),
                   array(select k.hash from kept k order by k.i), k_tidx, k_account, k_debit, k_amount, false) r)
    select g.i::int4, coalesce(p.status, 2::int2), coalesce(nullif(v_code[g.i], ''), p.code), p.seq, p.recorded_at
      from generate_series(1, n) as g(i)
      left join posted p on v_code[g.i] = '' and p.idx = v_new[g.i]
     order by g.i;
end
$fn$;
