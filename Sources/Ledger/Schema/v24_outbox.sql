-- The event outbox and balance monitors (docs/decisions/0039-event-outbox.md).
--
-- What happened in the ledger is written in the transaction that made it happen, by triggers, so
-- that every writer (the fast path, the checked path, hold expiry, accounts, rails) is covered by
-- one mechanism and none of the posting functions changes:
-- * one outbox row per statement that inserts transfers (their seqs, in batch order), accounts, or
--   closes accounts; one per balance monitor that fires;
-- * at commit (a deferred trigger, when every lock of the transaction is held) the row takes its
--   commit_order, so that two transactions touching one account are ordered as they committed;
-- * settle.sequence_events(), run by readers, gives committed rows their public positions in
--   commit_order, densely (a row of n events takes n positions). A position is never given before
--   a lower one, so a consumer reading "after N" never misses an event that commits later.

create sequence settle.outbox_commit_order as bigint;

-- kind: 0 transfers (refs: their seqs), 1 accounts created (refs: nums), 2 accounts closed (refs:
-- nums), 3 a balance monitor fired (refs: the transfer seq; payload: the firing).
create table settle.outbox (
    id            bigint generated always as identity primary key,
    kind          smallint not null check (kind between 0 and 3),
    refs          bigint[] not null check (cardinality(refs) >= 1),
    count         int4 not null check (count >= 1),
    payload       jsonb,
    recorded_at   timestamptz not null default now(),
    commit_order  bigint,
    last_position bigint
) with (fillfactor = 50);

-- commit_order is in no index, so its update at commit is a HOT update (room left by the
-- fillfactor): the write path pays no index maintenance for it.
create unique index outbox_by_position on settle.outbox (last_position) where last_position is not null;
create index outbox_to_sequence on settle.outbox (id) where last_position is null;

-- History: rows are never deleted (positions would become gaps a consumer cannot tell from loss).
create trigger outbox_no_delete before delete on settle.outbox
    for each statement execute function settle.refuse_change();
create trigger outbox_no_truncate before truncate on settle.outbox
    for each statement execute function settle.refuse_change();

create function settle.outbox_commit_order() returns trigger
language plpgsql as $$
begin
    update settle.outbox set commit_order = nextval('settle.outbox_commit_order') where id = new.id;
    return null;
end
$$;

create constraint trigger outbox_commit_order after insert on settle.outbox
    deferrable initially deferred for each row execute function settle.outbox_commit_order();

create function settle.outbox_transfers() returns trigger
language plpgsql as $$
begin
    insert into settle.outbox (kind, refs, count)
    select 0, array_agg(t.seq order by t.seq), count(*) from new_transfers t having count(*) > 0;
    return null;
end
$$;

create trigger transfers_outbox after insert on settle.transfers
    referencing new table as new_transfers for each statement execute function settle.outbox_transfers();

create function settle.outbox_accounts_created() returns trigger
language plpgsql as $$
begin
    insert into settle.outbox (kind, refs, count)
    select 1, array_agg(a.num order by a.num), count(*) from new_accounts a having count(*) > 0;
    return null;
end
$$;

create trigger accounts_outbox_created after insert on settle.accounts
    referencing new table as new_accounts for each statement execute function settle.outbox_accounts_created();

create function settle.outbox_accounts_closed() returns trigger
language plpgsql as $$
begin
    insert into settle.outbox (kind, refs, count)
    select 2, array_agg(n.num order by n.num), count(*)
      from new_accounts n join old_accounts o on o.num = n.num
     where n.closed and not o.closed
    having count(*) > 0;
    return null;
end
$$;

create trigger accounts_outbox_closed after update on settle.accounts
    referencing old table as old_accounts new table as new_accounts
    for each statement execute function settle.outbox_accounts_closed();

-- Gives committed outbox rows their positions, at most p_limit rows per call; returns the last
-- position given (0 before the first event). One sequencer at a time (a transaction-level
-- advisory lock); each statement below sees what committed before it started.
create function settle.sequence_events(p_limit int4) returns bigint
language plpgsql as $$
declare
    v_last bigint;
begin
    perform pg_advisory_xact_lock(57321024, 1);
    select coalesce(max(o.last_position), 0) into v_last from settle.outbox o where o.last_position is not null;
    with ready as (
        select o.id, o.count, o.commit_order
          from settle.outbox o
         where o.last_position is null and o.commit_order is not null
         order by o.commit_order
         limit p_limit),
    numbered as (
        select r.id, v_last + sum(r.count) over (order by r.commit_order rows unbounded preceding) as last_position
          from ready r)
    update settle.outbox o set last_position = n.last_position from numbered n where o.id = n.id;
    select coalesce(max(o.last_position), 0) into v_last from settle.outbox o where o.last_position is not null;
    return v_last;
end
$$;

-- Balance monitors: a condition on an account's balance on its normal side; fires (an outbox
-- row) each time a transfer makes it true after the balance before it left it false.
create table settle.balance_monitors (
    num         bigint generated always as identity primary key,
    id          text not null unique
                check (octet_length(id) between 1 and 128 and id ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$'),
    account_num bigint not null references settle.accounts (num),
    balance     text not null check (balance in ('available', 'posted')),
    operator    text not null check (operator in ('lt', 'lte', 'gt', 'gte')),
    threshold   numeric(78, 0) not null
                check (abs(threshold) <= 115792089237316195423570985008687907853269984665640564039457584007913129639935),
    created_at  timestamptz not null default now()
);

create index balance_monitors_by_account on settle.balance_monitors (account_num);

create function settle.monitor_value(p_normal "char", p_balance text, dp numeric, cp numeric, dpe numeric, cpe numeric)
returns numeric
language sql immutable as $$
    select case p_normal
           when 'C' then cp - dp - case when p_balance = 'available' then dpe else 0 end
           else dp - cp - case when p_balance = 'available' then cpe else 0 end end
$$;

create function settle.monitor_holds(p_operator text, p_value numeric, p_threshold numeric) returns boolean
language sql immutable as $$
    select case p_operator
           when 'lt' then p_value < p_threshold
           when 'lte' then p_value <= p_threshold
           when 'gt' then p_value > p_threshold
           else p_value >= p_threshold end
$$;

-- Entries carry the running balance after each of them, so a crossing is decided per transfer and
-- account: the balance after the transfer's last entry on the account against the balance before its
-- first (the entry before, or zero), so a transfer whose entries pass through the threshold and back
-- (a hold released and posted) is no crossing. The account's balance row is locked by the writer,
-- so concurrent writers see one history.
create function settle.outbox_monitors() returns trigger
language plpgsql as $$
begin
    if not exists (select 1 from settle.balance_monitors) then
        return null;
    end if;
    insert into settle.outbox (kind, refs, count, payload)
    select 3, array[x.transfer_seq], 1,
           jsonb_build_object('monitor', x.monitor, 'account_num', x.account_num,
                              'account_version', x.account_version, 'balance', x.balance,
                              'operator', x.operator, 'threshold', x.threshold::text, 'value', x.value::text)
      from (select m.id as monitor, m.balance, m.operator, m.threshold, g.account_num, g.v1 as account_version,
                   g.transfer_seq,
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
     where settle.monitor_holds(x.operator, x.value, x.threshold)
       and not settle.monitor_holds(x.operator, x.before, x.threshold)
     order by x.account_num, x.account_version, x.monitor;
    return null;
end
$$;

create trigger entries_monitors after insert on settle.entries
    referencing new table as new_entries for each statement execute function settle.outbox_monitors();

-- Endpoints that receive the events by signed HTTP POST; delivered_through is the last position
-- an endpoint acknowledged, moved only forward by the deliverer.
create table settle.webhook_endpoints (
    id                text primary key
                      check (octet_length(id) between 1 and 128 and id ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$'),
    url               text not null check (octet_length(url) between 8 and 2048 and url ~ '^https?://'),
    secret            text not null check (octet_length(secret) = 64 and secret ~ '^[0-9a-f]*$'),
    types             text[] not null default '{}',
    account_prefix    text not null default '',
    delivered_through bigint not null check (delivered_through >= 0),
    failures          int4 not null default 0,
    next_attempt_at   timestamptz not null default now(),
    last_attempt_at   timestamptz,
    last_status       int4,
    last_error        text,
    created_at        timestamptz not null default now()
);
