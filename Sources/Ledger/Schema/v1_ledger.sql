-- Settle ledger schema, version 1.
--
-- Design notes (see docs/decisions/0002-posting-function.md):
-- * All writes go through settle.post_transfers(), one call per batch. It validates, locks the
--   touched balance rows in account order, checks limits in event order and writes netted balance
--   updates plus append-only entries. A client bug cannot unbalance the books: the function is the
--   only writer (guarded by settle.posting), and entries/transfers refuse UPDATE, DELETE, TRUNCATE.
-- * Amounts are NUMERIC(78,0) constrained to 0 .. 2^256-1 (settle.u256).
-- * Entries carry running balances in recording order (account_version), so a balance "as of
--   version v" is one index probe; effective-time balances use snapshots plus deltas, so a
--   back-dated transfer never rewrites stored history.

create schema if not exists settle;

create domain settle.u256 as numeric(78, 0)
    check (value >= 0 and value <= 115792089237316195423570985008687907853269984665640564039457584007913129639935);

create table settle.assets (
    id          text primary key check (id ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$'),
    code        text not null check (code ~ '^[A-Za-z0-9.$_-]{1,16}$'),
    scale       smallint not null check (scale between 0 and 77),
    rail        text check (rail ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    network     text check (network ~ '^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$'),
    token       text check (length(token) between 1 and 128),
    metadata    jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz not null default now(),
    unique (network, token),
    check (token is null or network is not null)
);

-- flags: 1 = debits must not exceed credits, 2 = credits must not exceed debits.
create table settle.accounts (
    num         bigint generated always as identity primary key,
    id          text not null unique check (id ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$'),
    asset_id    text not null references settle.assets (id),
    code        text not null default '' check (length(code) <= 64),
    normal      "char" not null check (normal in ('D', 'C')),
    flags       smallint not null default 0 check (flags in (0, 1, 2)),
    external_id text unique check (length(external_id) between 1 and 256),
    metadata    jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    closed      boolean not null default false,
    created_at  timestamptz not null default now()
);

create index accounts_id_prefix on settle.accounts (id text_pattern_ops);

-- The only mutable rows: one per account, locked by the posting function.
create table settle.balances (
    account_num     bigint primary key references settle.accounts (num),
    debits_posted   settle.u256 not null default 0,
    credits_posted  settle.u256 not null default 0,
    debits_pending  settle.u256 not null default 0,
    credits_pending settle.u256 not null default 0,
    version         bigint not null default 0,
    updated_at      timestamptz
) with (fillfactor = 70);

create sequence settle.transfer_seq as bigint cache 1000;

-- kind: 0 posted, 1 pending (hold), 2 post of a hold, 3 void of a hold, 4 reversal, 5 expiry of a hold.
create table settle.transfers (
    seq          bigint primary key,
    -- The id's format is checked by the API (a regex here would cost a fifth of a batch insert);
    -- '~' starts the ids the ledger makes itself (hold expiries), which clients cannot use.
    id           text not null unique check (octet_length(id) between 1 and 160),
    kind         smallint not null check (kind between 0 and 5),
    parent_seq   bigint,
    expires_at   timestamptz,
    effective_at timestamptz not null,
    recorded_at  timestamptz not null,
    rail         text,
    rail_ref     text,
    metadata     jsonb,
    request_hash bytea not null,
    check ((rail is null) = (rail_ref is null)),
    check ((kind in (2, 3, 4, 5)) <= (parent_seq is not null))
);

create unique index transfers_rail_ref on settle.transfers (rail, rail_ref) where rail is not null;
create index transfers_parent on settle.transfers (parent_seq) where parent_seq is not null;
-- A hold is resolved at most once, a transfer reversed at most once, even if the function had a bug.
create unique index transfers_one_resolution on settle.transfers (parent_seq) where kind in (2, 3, 5);
create unique index transfers_one_reversal on settle.transfers (parent_seq) where kind = 4;
create index transfers_open_holds on settle.transfers (expires_at) where kind = 1 and expires_at is not null;

-- amount is the signed change of one counter (side x bucket); it is negative only when a hold is
-- released. The four running counters are the account's balance after this entry.
create table settle.entries (
    account_num     bigint not null,
    account_version bigint not null,
    transfer_seq    bigint not null,
    effective_at    timestamptz not null,
    is_debit        boolean not null,
    is_pending      boolean not null,
    amount          numeric(78, 0) not null check (amount <> 0),
    debits_posted   settle.u256 not null,
    credits_posted  settle.u256 not null,
    debits_pending  settle.u256 not null,
    credits_pending settle.u256 not null,
    primary key (account_num, account_version)
);

create index entries_by_effective on settle.entries (account_num, effective_at);
create index entries_by_transfer on settle.entries (transfer_seq);

-- Balances per account at an effective-time cut-off, computed from entries recorded up to
-- through_version. Derived data: a snapshot can be recomputed at any time.
create table settle.balance_snapshots (
    account_num     bigint not null references settle.accounts (num),
    effective_at    timestamptz not null,
    through_version bigint not null,
    debits_posted   settle.u256 not null,
    credits_posted  settle.u256 not null,
    debits_pending  settle.u256 not null,
    credits_pending settle.u256 not null,
    taken_at        timestamptz not null default now(),
    primary key (account_num, effective_at)
);

create function settle.refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'settle.% is append-only: % is refused', tg_table_name, tg_op
        using errcode = 'P0001', hint = 'corrections are new transfers (reverse, void)';
end
$$;

create function settle.require_posting() returns trigger
language plpgsql as $$
begin
    if coalesce(current_setting('settle.posting', true), '') <> 'on' then
        raise exception 'settle.% is written only by settle.post_transfers()', tg_table_name
            using errcode = 'P0001';
    end if;
    return null;
end
$$;

create trigger entries_append_only before update or delete on settle.entries
    for each statement execute function settle.refuse_change();
create trigger entries_no_truncate before truncate on settle.entries
    for each statement execute function settle.refuse_change();
create trigger transfers_append_only before update or delete on settle.transfers
    for each statement execute function settle.refuse_change();
create trigger transfers_no_truncate before truncate on settle.transfers
    for each statement execute function settle.refuse_change();
create trigger entries_writer before insert on settle.entries
    for each statement execute function settle.require_posting();
create trigger transfers_writer before insert on settle.transfers
    for each statement execute function settle.require_posting();
create trigger balances_writer before update or delete on settle.balances
    for each statement execute function settle.require_posting();
create trigger balances_no_truncate before truncate on settle.balances
    for each statement execute function settle.refuse_change();
