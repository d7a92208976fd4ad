-- Where each rail's ingest stands, and which rail events (webhooks or pulled) were already taken.
-- Rails are plugins: the ledger stores their opaque cursor and event ids, never their meaning.
create table settle.rail_cursors (
    rail text primary key check (rail ~ '^[a-z0-9][a-z0-9._-]{0,31}$'),
    cursor text not null,
    updated_at timestamptz not null default now()
);

-- One row per rail event id that was booked (its transfers are committed before the row is
-- written), so a replayed webhook or a re-fetched page is recognised before any work.
create table settle.rail_inbox (
    rail text not null,
    event_id text not null check (length(event_id) between 1 and 256),
    received_at timestamptz not null default now(),
    transfers integer not null,
    primary key (rail, event_id)
);
