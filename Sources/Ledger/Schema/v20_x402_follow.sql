-- The facilitator follows what it settled until the chain makes it final: a settled row stays
-- open (final_at null) until its receipt is `finality` blocks deep. A transaction a reorg dropped
-- is sent again while its authorization is still valid; one that can no longer be paid is
-- reversed in the ledger and recorded so.
alter table settle.x402_settlements drop constraint x402_settlements_state_check;
alter table settle.x402_settlements add constraint x402_settlements_state_check
    check (state in ('reserved', 'broadcast', 'settled', 'failed', 'reversed'));
alter table settle.x402_settlements add column final_at timestamptz;
-- Set when a dropped settlement is sent again: the row is followed whatever its state until final.
alter table settle.x402_settlements add column reopened_at timestamptz;
-- Rows settled before this version were followed by nobody: they count as final.
update settle.x402_settlements set final_at = updated_at where state in ('settled', 'failed');
create index x402_settlements_unfinal on settle.x402_settlements (updated_at)
    where final_at is null and (state = 'settled' or reopened_at is not null);
