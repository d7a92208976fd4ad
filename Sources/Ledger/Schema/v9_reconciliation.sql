-- Reconciliation (docs/decisions/0016-reconciliation-in-sql.md): one run per rail and day, the
-- rail's statement staged per run by COPY and matched against the ledger in SQL, so memory stays
-- flat whatever the size of the day.

-- A run is written while it runs (its checkpoint moves) and never again once finished: a re-run of
-- the same day is a new run, compared with the previous one in `changes`.
create table settle.recon_runs (
    id              bigint generated always as identity primary key,
    rail            text not null check (rail ~ '^[a-z0-9][a-z0-9._-]{0,31}$'),
    day             date not null,
    time_zone       text not null,
    window_start    timestamptz not null,
    cutoff          timestamptz not null,
    as_of           timestamptz not null,
    inputs          jsonb not null check (jsonb_typeof(inputs) = 'object'),
    status          text not null check (status in ('running', 'complete', 'incomplete', 'failed')),
    phase           text not null default 'load' check (phase in ('load', 'match', 'done')),
    statement_cursor text,
    statement_pages integer not null default 0,
    statement_rows  bigint not null default 0,
    started_at      timestamptz not null default now(),
    finished_at     timestamptz,
    counts          jsonb not null default '{}' check (jsonb_typeof(counts) = 'object'),
    changes         jsonb,
    error           text,
    check ((status = 'running') = (finished_at is null)),
    check (cutoff > window_start)
);

create index recon_runs_by_day on settle.recon_runs (rail, day, id);

create function settle.recon_run_frozen() returns trigger
language plpgsql as $$
begin
    if old.status <> 'running' then
        raise exception 'reconciliation run % is finished: it is immutable', old.id using errcode = 'P0001';
    end if;
    if tg_op = 'DELETE' then
        raise exception 'reconciliation runs are never deleted' using errcode = 'P0001';
    end if;
    return new;
end
$$;

create trigger recon_runs_frozen before update or delete on settle.recon_runs
    for each row execute function settle.recon_run_frozen();

-- The rail's statement rows of a run, in the order the rail gave them (ordinal). Loaded page by
-- page with the run's checkpoint in the same transaction, so a killed run resumes after the last
-- committed page and never stages a row twice.
create table settle.recon_statement (
    run_id      bigint not null references settle.recon_runs (id),
    ordinal     bigint not null,
    reference   text not null,
    type        text not null,
    direction   text not null,
    asset       text not null,
    amount      numeric(78, 0) not null,
    fee         numeric(78, 0) not null,
    status      text not null,
    occurred_at timestamptz not null,
    details     jsonb not null,
    primary key (run_id, ordinal)
);

-- Every difference a run found, with both sides' rows as evidence. `fingerprint` names the same
-- difference across runs of a rail (code, asset, reference), so a re-run reports what changed and
-- a break resolved once stays resolved.
create table settle.recon_breaks (
    id            bigint generated always as identity primary key,
    run_id        bigint not null references settle.recon_runs (id),
    rail          text not null,
    day           date not null,
    code          text not null check (code ~ '^[a-z_]{1,40}$'),
    fingerprint   text not null,
    reference     text,
    asset         text,
    rail_amount   numeric(78, 0),
    ledger_amount numeric(78, 0),
    occurred_at   timestamptz,
    first_seen    date not null,
    evidence      jsonb not null,
    unique (run_id, fingerprint)
);

create index recon_breaks_by_fingerprint on settle.recon_breaks (rail, fingerprint);
create trigger recon_breaks_append_only before update or delete on settle.recon_breaks
    for each statement execute function settle.refuse_change();

-- How a break was settled: automatically by a configured rule, by an adjusting transfer, or by an
-- explanation; always with who and why. Applies to every break of the rail with the same fingerprint.
create table settle.recon_resolutions (
    break_id    bigint primary key references settle.recon_breaks (id),
    rail        text not null,
    fingerprint text not null,
    kind        text not null check (kind in ('auto', 'transfer', 'explanation')),
    transfer_id text,
    note        text not null check (length(note) between 1 and 2000),
    actor       text not null check (length(actor) between 1 and 200),
    resolved_at timestamptz not null default now(),
    check ((kind = 'explanation') = (transfer_id is null))
);

create index recon_resolutions_by_fingerprint on settle.recon_resolutions (rail, fingerprint);
create trigger recon_resolutions_append_only before update or delete on settle.recon_resolutions
    for each statement execute function settle.refuse_change();

-- A day of one rail's transfers, read by effective time.
create index transfers_rail_effective on settle.transfers (rail, effective_at) where rail is not null;
