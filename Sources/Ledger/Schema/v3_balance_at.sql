-- Balance of an account as of an effective time, counting every entry recorded so far whose
-- effective time is at or before `at`. Starts from the latest snapshot at or before `at` and adds
-- (a) entries effective after the snapshot's cut-off and (b) entries recorded after the snapshot
-- but effective before its cut-off (back-dated ones). Both are index range scans.
create function settle.balance_at(p_num bigint, p_at timestamptz,
    out debits_posted numeric, out credits_posted numeric,
    out debits_pending numeric, out credits_pending numeric, out through_version bigint)
language plpgsql stable
as $fn$
declare
    s record;
    cut timestamptz := '-infinity';
    base_version bigint := 0;
begin
    select * into s from settle.balance_snapshots b
     where b.account_num = p_num and b.effective_at <= p_at
     order by b.effective_at desc limit 1;
    debits_posted := 0; credits_posted := 0; debits_pending := 0; credits_pending := 0;
    if found then
        cut := s.effective_at;
        base_version := s.through_version;
        debits_posted := s.debits_posted; credits_posted := s.credits_posted;
        debits_pending := s.debits_pending; credits_pending := s.credits_pending;
    end if;
    select b.version into through_version from settle.balances b where b.account_num = p_num;
    select debits_posted + coalesce(sum(e.amount) filter (where e.is_debit and not e.is_pending), 0),
           credits_posted + coalesce(sum(e.amount) filter (where not e.is_debit and not e.is_pending), 0),
           debits_pending + coalesce(sum(e.amount) filter (where e.is_debit and e.is_pending), 0),
           credits_pending + coalesce(sum(e.amount) filter (where not e.is_debit and e.is_pending), 0)
      into debits_posted, credits_posted, debits_pending, credits_pending
      from (select e1.amount, e1.is_debit, e1.is_pending from settle.entries e1
             where e1.account_num = p_num and e1.effective_at > cut and e1.effective_at <= p_at
               and e1.account_version <= through_version
            union all
            select e2.amount, e2.is_debit, e2.is_pending from settle.entries e2
             where e2.account_num = p_num and e2.account_version > base_version
               and e2.account_version <= through_version and e2.effective_at <= cut) e;
end
$fn$;

-- Records every account's balance as of `at` (recomputing an existing snapshot at the same time).
create function settle.take_snapshots(p_at timestamptz) returns bigint
language sql
as $fn$
    with s as (
        insert into settle.balance_snapshots as x (account_num, effective_at, through_version, debits_posted,
                                                  credits_posted, debits_pending, credits_pending)
        select b.account_num, p_at, v.through_version, v.debits_posted, v.credits_posted,
               v.debits_pending, v.credits_pending
          from settle.balances b cross join lateral settle.balance_at(b.account_num, p_at) v
        on conflict (account_num, effective_at) do update
           set through_version = excluded.through_version, debits_posted = excluded.debits_posted,
               credits_posted = excluded.credits_posted, debits_pending = excluded.debits_pending,
               credits_pending = excluded.credits_pending, taken_at = now()
        returning 1)
    select count(*) from s;
$fn$;
