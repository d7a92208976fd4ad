-- History partitioned by range (docs/decisions/0040-partitioned-history.md).
--
-- * settle.entries, the biggest table, is partitioned by range of transfer_seq (monotonic in
--   recording order, so a range is a stretch of time); settle.job_runs by month of started_at.
--   settle.transfers is not partitioned: its unique id, (rail, rail_ref) and one-resolution indexes
--   cannot include the partition key (see the decision).
-- * Nothing that reads or writes them changes: the posting functions, the outbox trigger and the
--   readers name the parent tables. The existing rows are carried over in this transaction.
-- * settle.ensure_partitions() (called here and by the worker's `partitions` job) keeps the next
--   partitions ready; a DEFAULT partition catches a row no range takes, so a late job never fails a
--   posting.

-- How each table is cut: entries by `width` transfer seqs, job_runs by `width` months (UTC);
-- `ahead` partitions beyond the one of the current seq or month are kept ready. A new width applies
-- from the last partition's upper bound on.
create table settle.partition_plans (
    parent text primary key check (parent in ('entries', 'job_runs')),
    width  bigint not null check (width > 0),
    ahead  int4 not null check (ahead between 1 and 1000)
);

insert into settle.partition_plans (parent, width, ahead) values ('entries', 10000000, 2), ('job_runs', 1, 3);

-- The partitions of the partitioned tables and their ranges, as text in the key's type (the
-- catalog's own rendering, read back in the same session); null bounds for a DEFAULT partition.
create view settle.partition_ranges as
select p.relname::text as parent, c.relname::text as partition, c.relpartbound is not null and b.r is null as is_default,
       b.r[1] as lower_bound, b.r[2] as upper_bound
  from pg_inherits i
  join pg_class c on c.oid = i.inhrelid
  join pg_class p on p.oid = i.inhparent
  join pg_namespace n on n.oid = p.relnamespace
  cross join lateral (select regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                          '^FOR VALUES FROM \(''?([^'')]*)''?\) TO \(''?([^'')]*)''?\)$') as r) b
 where n.nspname = 'settle' and p.relname in ('entries', 'job_runs');

-- The triggers of v1 that make a history table append-only and written only while posting.
create function settle.guard_history(p_table text) returns void
language plpgsql as $fn$
begin
    execute format('create trigger %I before update or delete on settle.%I for each statement execute function settle.refuse_change()',
                   p_table || '_append_only', p_table);
    execute format('create trigger %I before truncate on settle.%I for each statement execute function settle.refuse_change()',
                   p_table || '_no_truncate', p_table);
    execute format('create trigger %I before insert on settle.%I for each statement execute function settle.require_posting()',
                   p_table || '_writer', p_table);
end
$fn$;

-- Adds one range partition, or the DEFAULT partition when p_from is null. It is made as a table and
-- then attached, which takes a SHARE UPDATE EXCLUSIVE lock on the parent: postings and reads go on
-- meanwhile (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE and queue every posting
-- behind the longest running read). Statement triggers of the parent do not fire for a statement
-- naming a partition, so each entries partition is guarded itself.
create function settle.add_partition(p_parent text, p_name text, p_from text, p_to text) returns void
language plpgsql as $fn$
begin
    execute format('create table settle.%I (like settle.%I including defaults including constraints)', p_name, p_parent);
    if p_parent = 'entries' then
        perform settle.guard_history(p_name);
    end if;
    if p_from is null then
        execute format('alter table settle.%I attach partition settle.%I default', p_parent, p_name);
    else
        execute format('alter table settle.%I attach partition settle.%I for values from (%L) to (%L)', p_parent, p_name, p_from, p_to);
    end if;
end
$fn$;

-- Creates the partitions missing up to `ahead` beyond the current one; returns how many it made.
-- Idempotent, one caller at a time (an advisory lock). A range is never made over rows the DEFAULT
-- partition holds (attaching it would fail): if the job fell behind, the next range starts above
-- them, and attaching scans the default under its lock, which is why it should stay empty.
create function settle.ensure_partitions() returns int4
language plpgsql as $fn$
declare
    v_width bigint;
    v_ahead int4;
    v_made int4 := 0;
    v_lo bigint;
    v_floor bigint;
    v_target bigint;
    v_month timestamptz;
    v_last timestamptz;
    v_until timestamptz;
    v_lock_timeout text := current_setting('lock_timeout');
begin
    perform pg_advisory_xact_lock(57321024, 2);
    -- Waiting behind a long lock on a parent would queue postings behind this: fail, retry later.
    perform set_config('lock_timeout', '5s', true);

    select pp.width, pp.ahead into v_width, v_ahead from settle.partition_plans pp where pp.parent = 'entries';
    select coalesce(max(r.upper_bound::bigint), 0) into v_lo
      from settle.partition_ranges r where r.parent = 'entries' and not r.is_default;
    select max(d.transfer_seq) into v_floor from settle.entries_default d;
    if v_floor >= v_lo then
        v_lo := (v_floor / v_width + 1) * v_width;
    end if;
    -- last_value is the end of the latest block of seqs handed to any session (cache included).
    select s.last_value + v_ahead * v_width into v_target from settle.transfer_seq s;
    while v_lo <= v_target loop
        perform settle.add_partition('entries', 'entries_' || v_lo, v_lo::text, (v_lo + v_width)::text);
        v_lo := v_lo + v_width;
        v_made := v_made + 1;
    end loop;

    select pp.width, pp.ahead into v_width, v_ahead from settle.partition_plans pp where pp.parent = 'job_runs';
    select coalesce(max(r.upper_bound::timestamptz), date_trunc('month', now(), 'UTC')) into v_month
      from settle.partition_ranges r where r.parent = 'job_runs' and not r.is_default;
    select max(d.started_at) into v_last from settle.job_runs_default d;
    if v_last >= v_month then
        v_month := date_trunc('month', v_last, 'UTC') + interval '1 month';
    end if;
    v_until := date_trunc('month', now(), 'UTC') + make_interval(months => v_ahead);
    while v_month <= v_until loop
        perform settle.add_partition('job_runs', 'job_runs_' || to_char(v_month at time zone 'UTC', 'YYYY_MM'),
                                     v_month::text, (v_month + make_interval(months => v_width::int4))::text);
        v_month := v_month + make_interval(months => v_width::int4);
        v_made := v_made + 1;
    end loop;
    perform set_config('lock_timeout', v_lock_timeout, true);
    return v_made;
end
$fn$;

-- Entries: the new parent with the same columns and checks, its partitions, the rows, then the keys,
-- indexes and triggers (after the copy, so that the monitor trigger does not fire for history).
-- The primary key takes the partition key, as PostgreSQL requires; (account_num, account_version)
-- stays unique all the same, as the posting functions give versions under the balance row's lock.
alter table settle.entries rename to entries_unpartitioned;

create table settle.entries (like settle.entries_unpartitioned including defaults including constraints)
    partition by range (transfer_seq);

select settle.add_partition('entries', 'entries_default', null, null);

-- Job runs: the months of the existing runs, then the current one and those ahead (below).
alter table settle.job_runs rename to job_runs_unpartitioned;
alter table settle.job_runs_unpartitioned rename constraint job_runs_job_fkey to job_runs_unpartitioned_job_fkey;

create table settle.job_runs (like settle.job_runs_unpartitioned including defaults including constraints)
    partition by range (started_at);

select settle.add_partition('job_runs', 'job_runs_default', null, null);

select settle.add_partition('job_runs', 'job_runs_' || to_char(m at time zone 'UTC', 'YYYY_MM'), m::text,
                            (m + interval '1 month')::text)
  from generate_series(date_trunc('month', (select min(started_at) from settle.job_runs_unpartitioned), 'UTC'),
                       date_trunc('month', now(), 'UTC') - interval '1 month', interval '1 month') as g(m);

select settle.ensure_partitions();

insert into settle.entries select * from settle.entries_unpartitioned order by transfer_seq, account_num, account_version;
insert into settle.job_runs select * from settle.job_runs_unpartitioned;

drop table settle.entries_unpartitioned;
drop table settle.job_runs_unpartitioned;

alter table settle.entries add primary key (account_num, account_version, transfer_seq);
create index entries_by_effective on settle.entries (account_num, effective_at);
create index entries_by_transfer on settle.entries (transfer_seq);

select settle.guard_history('entries');
create trigger entries_monitors after insert on settle.entries
    referencing new table as new_entries for each statement execute function settle.outbox_monitors();

alter table settle.job_runs add primary key (job, generation, started_at);
alter table settle.job_runs add foreign key (job) references settle.jobs (name) on delete cascade;
create index job_runs_by_slot on settle.job_runs (job, scheduled_for);
