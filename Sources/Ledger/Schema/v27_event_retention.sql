-- Retention of the event outbox (docs/decisions/0042-event-retention.md).
--
-- The outbox is the feed's history, not the ledger's: transfers, entries and accounts stay forever
-- (and in the hash chain); an outbox row only says at which position their event was published.
-- Rows older than a retention period are deleted by settle.prune_events(), never past a webhook
-- endpoint's acknowledged position, and the position they ended at is kept, so that
-- * positions keep counting from it (sequence_events never gives a pruned position again), and
-- * a reader whose cursor lies in the pruned range is told so (cursor_expired), not handed the
--   next events as if nothing had been skipped.

create table settle.outbox_horizon (
    only_row       boolean primary key default true check (only_row),
    pruned_through bigint not null default 0 check (pruned_through >= 0),
    pruned_at      timestamptz
);
insert into settle.outbox_horizon default values;

create trigger outbox_horizon_no_delete before delete or truncate on settle.outbox_horizon
    for each statement execute function settle.refuse_change();

-- Deletes stay refused, except inside settle.prune_events().
drop trigger outbox_no_delete on settle.outbox;

create function settle.outbox_guard_delete() returns trigger
language plpgsql as $$
begin
    if current_setting('settle.pruning_events', true) = 'on' then
        return null;
    end if;
    raise exception 'settle.outbox is append-only: % is refused', tg_op
        using errcode = 'P0001', hint = 'events leave the outbox only through settle.prune_events()';
end
$$;

create trigger outbox_no_delete before delete on settle.outbox
    for each statement execute function settle.outbox_guard_delete();

-- Positions continue after the pruned ones even when every sequenced row is gone.
create or replace function settle.sequence_events(p_limit int4) returns bigint
language plpgsql as $$
declare
    v_last bigint;
begin
    perform pg_advisory_xact_lock(57321024, 1);
    select greatest(coalesce(max(o.last_position), 0), (select h.pruned_through from settle.outbox_horizon h))
      into v_last from settle.outbox o where o.last_position is not null;
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
    select greatest(coalesce(max(o.last_position), 0), (select h.pruned_through from settle.outbox_horizon h))
      into v_last from settle.outbox o where o.last_position is not null;
    return v_last;
end
$$;

-- Deletes the oldest sequenced rows, up to p_limit, while they were recorded before p_before
-- (whole rows only; it stops at the first younger one in position order), none past the lowest
-- position a webhook endpoint acknowledged (an endpoint holds its events as a replication slot
-- holds WAL: delete an endpoint nobody reads). Runs under the sequencer's lock, so no position is
-- given meanwhile. Returns the new horizon, the rows deleted and the endpoint that held the
-- horizon back, if one did.
create function settle.prune_events(p_before timestamptz, p_limit int4)
returns table (pruned_through bigint, rows_deleted bigint, held_by text)
language plpgsql as $$
declare
    v_hold bigint;
    v_holder text;
    v_old bigint;
    v_free bigint;
    v_target bigint;
    v_deleted bigint;
begin
    perform pg_advisory_xact_lock(57321024, 1);
    select h.pruned_through into v_old from settle.outbox_horizon h for update;
    select e.delivered_through, e.id into v_hold, v_holder
      from settle.webhook_endpoints e order by e.delivered_through, e.id limit 1;
    with batch as (
        select o.last_position, o.recorded_at
          from settle.outbox o
         where o.last_position > v_old
         order by o.last_position
         limit p_limit),
    stop as (select min(b.last_position) as at from batch b where b.recorded_at >= p_before)
    select max(b.last_position), max(b.last_position) filter (where b.last_position <= coalesce(v_hold, b.last_position))
      into v_free, v_target
      from batch b, stop s
     where s.at is null or b.last_position < s.at;
    held_by := case when v_free is not null and v_target is distinct from v_free then v_holder end;
    if v_target is null then
        pruned_through := v_old;
        rows_deleted := 0;
        return next;
        return;
    end if;
    perform set_config('settle.pruning_events', 'on', true);
    delete from settle.outbox o where o.last_position > v_old and o.last_position <= v_target;
    get diagnostics v_deleted = row_count;
    perform set_config('settle.pruning_events', 'off', true);
    update settle.outbox_horizon h set pruned_through = v_target, pruned_at = now();
    pruned_through := v_target;
    rows_deleted := v_deleted;
    return next;
end
$$;
