-- MPP charges: one row per proof a charge was paid with (a Tempo transaction hash, a shared
-- payment token, an EIP-3009 nonce), written before the payment is settled. The proof and the
-- challenge it answered are each unique, so one transfer never pays two challenges and one
-- challenge is never paid twice, across any number of server replicas.
create table settle.mpp_proofs (
    proof text primary key check (length(proof) between 1 and 300),
    challenge_id text not null unique check (length(challenge_id) between 1 and 200),
    method text not null check (length(method) between 1 and 64),
    intent text not null check (length(intent) between 1 and 64),
    state text not null default 'reserved' check (state in ('reserved', 'settled')),
    reference text check (length(reference) between 1 and 300),
    reserved_at timestamptz not null default now(),
    settled_at timestamptz,
    check ((state = 'settled') = (settled_at is not null))
);
