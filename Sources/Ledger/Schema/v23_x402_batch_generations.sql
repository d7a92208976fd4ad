-- A batch-settlement channel's generation. A channel id is the hash of its config on one chain and
-- contract, so a payer whose client keeps the default salt gets the same id on a chain that was
-- replaced (a sandbox's new dev chain under books that outlive it). When the chain no longer has
-- what the stored row describes, the row starts a new generation: its bookings get accounts and
-- transfer ids of their own, so the earlier generation's natural keys (a charge's cumulative, a
-- claim's total) are never taken for the new one's and nothing is booked twice or skipped.
alter table settle.x402_batch_channels
    add column generation integer not null default 0 check (generation >= 0),
    add column renewed_at timestamptz;
