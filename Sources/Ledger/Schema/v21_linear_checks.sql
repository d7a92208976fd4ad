-- Format checks that run in linear time. PostgreSQL's regular expressions expand a bounded
-- repetition such as [0-9a-f]{64} into that many states, and a CHECK runs on every INSERT and
-- every UPDATE of the row, whichever columns change: the ten checks of an MPP session row cost
-- ~80 µs per voucher update (the signature's alternation of {128} and {130} alone ~45 µs), and a
-- 90-character account id ~34 µs. The same languages, written as an unbounded class and a length,
-- cost under a microsecond. Constraint names are kept.

alter table settle.mpp_sessions
    drop constraint mpp_sessions_channel_id_check,
    add constraint mpp_sessions_channel_id_check check (channel_id ~ '^0x[0-9a-f]*$' and octet_length(channel_id) = 66),
    drop constraint mpp_sessions_escrow_check,
    add constraint mpp_sessions_escrow_check check (escrow ~ '^0x[0-9a-f]*$' and octet_length(escrow) = 42),
    drop constraint mpp_sessions_payer_check,
    add constraint mpp_sessions_payer_check check (payer ~ '^0x[0-9a-f]*$' and octet_length(payer) = 42),
    drop constraint mpp_sessions_payee_check,
    add constraint mpp_sessions_payee_check check (payee ~ '^0x[0-9a-f]*$' and octet_length(payee) = 42),
    drop constraint mpp_sessions_operator_check,
    add constraint mpp_sessions_operator_check check (operator ~ '^0x[0-9a-f]*$' and octet_length(operator) = 42),
    drop constraint mpp_sessions_token_check,
    add constraint mpp_sessions_token_check check (token ~ '^0x[0-9a-f]*$' and octet_length(token) = 42),
    drop constraint mpp_sessions_salt_check,
    add constraint mpp_sessions_salt_check check (salt ~ '^0x[0-9a-f]*$' and octet_length(salt) = 66),
    drop constraint mpp_sessions_authorized_signer_check,
    add constraint mpp_sessions_authorized_signer_check
        check (authorized_signer ~ '^0x[0-9a-f]*$' and octet_length(authorized_signer) = 42),
    drop constraint mpp_sessions_expiring_nonce_hash_check,
    add constraint mpp_sessions_expiring_nonce_hash_check
        check (expiring_nonce_hash ~ '^0x[0-9a-f]*$' and octet_length(expiring_nonce_hash) = 66),
    drop constraint mpp_sessions_signature_check,
    add constraint mpp_sessions_signature_check
        check (signature ~ '^0x[0-9a-f]*$' and octet_length(signature) in (2, 130, 132));

alter table settle.x402_batch_channels
    drop constraint x402_batch_channels_channel_id_check,
    add constraint x402_batch_channels_channel_id_check check (channel_id ~ '^0x[0-9a-f]*$' and octet_length(channel_id) = 66),
    drop constraint x402_batch_channels_payer_check,
    add constraint x402_batch_channels_payer_check check (payer ~ '^0x[0-9a-f]*$' and octet_length(payer) = 42),
    drop constraint x402_batch_channels_payer_authorizer_check,
    add constraint x402_batch_channels_payer_authorizer_check
        check (payer_authorizer ~ '^0x[0-9a-f]*$' and octet_length(payer_authorizer) = 42),
    drop constraint x402_batch_channels_receiver_check,
    add constraint x402_batch_channels_receiver_check check (receiver ~ '^0x[0-9a-f]*$' and octet_length(receiver) = 42),
    drop constraint x402_batch_channels_receiver_authorizer_check,
    add constraint x402_batch_channels_receiver_authorizer_check
        check (receiver_authorizer ~ '^0x[0-9a-f]*$' and octet_length(receiver_authorizer) = 42),
    drop constraint x402_batch_channels_token_check,
    add constraint x402_batch_channels_token_check check (token ~ '^0x[0-9a-f]*$' and octet_length(token) = 42),
    drop constraint x402_batch_channels_salt_check,
    add constraint x402_batch_channels_salt_check check (salt ~ '^0x[0-9a-f]*$' and octet_length(salt) = 66),
    drop constraint x402_batch_channels_signature_check,
    add constraint x402_batch_channels_signature_check
        check (signature ~ '^0x[0-9a-f]*$' and octet_length(signature) in (2, 132));

alter table settle.x402_settlements
    drop constraint x402_settlements_asset_check,
    add constraint x402_settlements_asset_check check (asset ~ '^0x[0-9a-f]*$' and octet_length(asset) = 42),
    drop constraint x402_settlements_payer_check,
    add constraint x402_settlements_payer_check check (payer ~ '^0x[0-9a-f]*$' and octet_length(payer) = 42),
    drop constraint x402_settlements_nonce_check,
    add constraint x402_settlements_nonce_check check (nonce ~ '^0x[0-9a-f]*$' and octet_length(nonce) = 66),
    drop constraint x402_settlements_tx_hash_check,
    add constraint x402_settlements_tx_hash_check check (tx_hash ~ '^0x[0-9a-f]*$' and octet_length(tx_hash) = 66);

alter table settle.x402_responses
    drop constraint x402_responses_payment_id_check,
    add constraint x402_responses_payment_id_check
        check (payment_id ~ '^[A-Za-z0-9_-]*$' and octet_length(payment_id) between 16 and 128);

alter table settle.accounts
    drop constraint accounts_id_check,
    add constraint accounts_id_check check (id ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$' and octet_length(id) <= 128);
