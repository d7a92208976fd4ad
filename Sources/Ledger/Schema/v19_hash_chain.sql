-- Tamper evidence: a hash chain per account and signed checkpoints (docs/decisions/0031-hash-chain.md).
--
-- The links are computed in Swift by the chainer (settle chain advance) and by the verifier
-- (settle verify --chain) from one definition of the encoding; no SQL here computes a digest, so a
-- superuser who replaces a function cannot make the verifier agree. The write path is untouched:
-- nothing here is read or written by the posting functions.

-- link(a, 0) covers the account row, link(a, v) the entry (a, v) and its transfer, chained to link(a, v - 1).
create table settle.chain_links (
    account_num     bigint not null,
    account_version bigint not null check (account_version >= 0),
    link            bytea not null check (octet_length(link) = 32),
    primary key (account_num, account_version)
);

-- How far each account is chained: the link at through_version is its head. Moved only forward, and
-- only by the chainer (see chain_heads_guard below).
create table settle.chain_heads (
    account_num     bigint primary key,
    through_version bigint not null check (through_version >= 0),
    head            bytea not null check (octet_length(head) = 32)
);

-- A signed statement of every account's head at a moment. The signature (Ed25519) is made with a key
-- the database never holds; the auditor keeps the JSON line settle chain checkpoint prints.
create table settle.chain_checkpoints (
    id               bigint generated always as identity primary key,
    taken_at         timestamptz not null,
    max_transfer_seq bigint not null,
    accounts         bigint not null,
    root             bytea not null check (octet_length(root) = 32),
    signature        bytea not null check (octet_length(signature) = 64),
    key_id           text not null
);

-- The versions a checkpoint signed: only the accounts whose through_version changed since the
-- previous checkpoint, so that storage follows activity, not the number of accounts. An account's
-- version at checkpoint K is its row with the highest checkpoint_id <= K.
create table settle.chain_checkpoint_heads (
    checkpoint_id   bigint not null references settle.chain_checkpoints (id),
    account_num     bigint not null,
    through_version bigint not null check (through_version >= 0),
    primary key (account_num, checkpoint_id)
);

-- Links, checkpoints and their versions are history: append-only, as entries and transfers are (v1).
create trigger chain_links_append_only before update or delete on settle.chain_links
    for each statement execute function settle.refuse_change();
create trigger chain_links_no_truncate before truncate on settle.chain_links
    for each statement execute function settle.refuse_change();
create trigger chain_checkpoints_append_only before update or delete on settle.chain_checkpoints
    for each statement execute function settle.refuse_change();
create trigger chain_checkpoints_no_truncate before truncate on settle.chain_checkpoints
    for each statement execute function settle.refuse_change();
create trigger chain_checkpoint_heads_append_only before update or delete on settle.chain_checkpoint_heads
    for each statement execute function settle.refuse_change();
create trigger chain_checkpoint_heads_no_truncate before truncate on settle.chain_checkpoint_heads
    for each statement execute function settle.refuse_change();

-- Heads are the one mutable table of the chain. A head is written only inside a chainer's
-- transaction (settle.chaining = on, as settle.posting guards the balances), never moves back, never
-- changes account, and always equals the stored link at its version: a head that disagrees with the
-- links could not be signed by a checkpoint by mistake. Deleting or truncating is refused.
create function settle.chain_heads_guard() returns trigger
language plpgsql as $$
begin
    if coalesce(current_setting('settle.chaining', true), '') <> 'on' then
        raise exception 'settle.chain_heads is written only by the chainer' using errcode = 'P0001';
    end if;
    if tg_op = 'UPDATE' and (new.account_num <> old.account_num or new.through_version < old.through_version) then
        raise exception 'settle.chain_heads: the head of account % cannot move back', old.account_num
            using errcode = 'P0001';
    end if;
    if not exists (select 1 from settle.chain_links l
                    where l.account_num = new.account_num and l.account_version = new.through_version
                      and l.link = new.head) then
        raise exception 'settle.chain_heads: the head of account % is not its link at version %',
            new.account_num, new.through_version using errcode = 'P0001';
    end if;
    return new;
end
$$;

create trigger chain_heads_writer before insert or update on settle.chain_heads
    for each row execute function settle.chain_heads_guard();
create trigger chain_heads_append_only before delete on settle.chain_heads
    for each statement execute function settle.refuse_change();
create trigger chain_heads_no_truncate before truncate on settle.chain_heads
    for each statement execute function settle.refuse_change();
