-- The worker's scheduled jobs (`settle worker`, module Scheduler; docs/decisions/0017-scheduler-leases.md):
-- what each job is, who may run it now, how far its schedule is done, and every run.
--
-- Every decision about a job is taken under the lock of its one row in settle.job_leases, with the
-- database's now(): claiming a slot, renewing the lease, recording the result. A worker holds the
-- lease of generation g; any later claim increments g, so a worker that lost its lease (it paused
-- past the expiry and another took over) can no longer record anything: g is its fencing token.

create table settle.jobs (
    name text primary key check (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    schedule text not null,
    time_zone text not null,
    catch_up text not null check (catch_up in ('latest', 'each')),
    -- A job that never completed a slot is due from here: slots before a job existed are not missed.
    registered_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table settle.job_leases (
    job text primary key references settle.jobs (name) on delete cascade,
    holder text,
    generation bigint not null default 0,
    slot timestamptz,
    acquired_at timestamptz,
    expires_at timestamptz not null default '-infinity',
    -- The latest slot completed: slots up to it are never run again (a clock jumped back included).
    done_through timestamptz,
    -- After a failed run, no claim before this.
    not_before timestamptz not null default '-infinity'
);

create table settle.job_runs (
    job text not null references settle.jobs (name) on delete cascade,
    generation bigint not null,
    scheduled_for timestamptz not null,
    worker text not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    outcome text not null default 'running'
        check (outcome in ('running', 'succeeded', 'failed', 'cancelled', 'abandoned')),
    error text,
    primary key (job, generation),
    check ((outcome = 'running') = (finished_at is null))
);

create index job_runs_by_slot on settle.job_runs (job, scheduled_for);

-- Takes the lease of `p_job` for slot `p_slot` if nobody holds it (or its holder's lease expired),
-- no retry is pending and the slot is not done. Returns the new generation, or null. A run that the
-- expired holder left running is marked abandoned: its worker is gone or cut off.
create function settle.claim_job(p_job text, p_worker text, p_slot timestamptz, p_lease interval)
returns bigint
language plpgsql
as $fn$
declare
    g bigint;
begin
    update settle.job_leases l
       set holder = p_worker, generation = l.generation + 1, slot = p_slot, acquired_at = now(),
           expires_at = now() + p_lease
     where l.job = p_job
       and (l.holder is null or l.expires_at <= now())
       and l.not_before <= now()
       and (l.done_through is null or l.done_through < p_slot)
    returning l.generation into g;
    if g is null then
        return null;
    end if;
    update settle.job_runs
       set outcome = 'abandoned', finished_at = now(), error = 'its worker stopped renewing the lease'
     where job = p_job and outcome = 'running';
    insert into settle.job_runs (job, generation, scheduled_for, worker) values (p_job, g, p_slot, p_worker);
    return g;
end
$fn$;

-- The heartbeat: extends the lease of generation `p_generation`; false once it was released or
-- taken over.
create function settle.renew_job_lease(p_job text, p_generation bigint, p_lease interval)
returns boolean
language sql
as $fn$
    with renewed as (
        update settle.job_leases set expires_at = now() + p_lease
         where job = p_job and generation = p_generation and holder is not null
        returning 1)
    select exists (select 1 from renewed)
$fn$;

-- Records the end of the run of generation `p_generation` and releases the lease; false (nothing
-- recorded) if that generation no longer holds it. A success marks the slot done; a failure keeps
-- it due after `p_retry_after`; a cancelled run leaves it due at once (for the next worker).
create function settle.finish_job_run(
    p_job text, p_generation bigint, p_outcome text, p_error text, p_retry_after interval)
returns boolean
language plpgsql
as $fn$
begin
    if p_outcome not in ('succeeded', 'failed', 'cancelled') then
        raise exception 'finish_job_run: outcome % is not an end', p_outcome using errcode = '22023';
    end if;
    update settle.job_leases l
       set holder = null, acquired_at = null, expires_at = now(),
           done_through = case when p_outcome = 'succeeded' then greatest(l.done_through, l.slot) else l.done_through end,
           not_before = case when p_outcome = 'failed' then now() + p_retry_after else l.not_before end
     where l.job = p_job and l.generation = p_generation and l.holder is not null;
    if not found then
        return false;
    end if;
    update settle.job_runs set outcome = p_outcome, error = p_error, finished_at = now()
     where job = p_job and generation = p_generation;
    return true;
end
$fn$;
