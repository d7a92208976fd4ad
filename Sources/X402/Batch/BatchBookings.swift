import EVM
import Ledger

/// How batch-settlement money moves in the ledger. Per channel, in the token's asset:
///
/// - `evm:{asset}:batch:{channel}` (debit-normal clearing): the tokens the contract holds for the
///   channel. A deposit debits it; claims and refunds credit it: zero once the channel is claimed
///   and refunded.
/// - `evm:{asset}:batch:{channel}:payer` (credit-normal escrow): what the payer deposited and has
///   neither spent nor got back. Each charge moves its increment from here to the merchant's
///   revenue account; a refund returns the rest.
/// - `evm:{asset}:batch-claimed:{receiver}` (debit-normal clearing): claimed for the receiver and
///   not yet swept by `settle`, which moves it to `evm:{asset}:incoming:{receiver}`, the clearing
///   account the ERC-20 rail credits when it books the token transfer to the receiver.
///
/// Every transfer id is a natural key of what happened (the ERC-3009 nonce of a deposit, the
/// cumulative a charge reaches, the total a claim reaches, the refund nonce, the sweep's
/// transaction), so a repeat books nothing.
///
/// A channel's later generations (a stored channel the chain no longer has, decision 0038) have
/// accounts and transfer ids of their own, `{channel}@{generation}`: a new life of the same
/// channel id counts its cumulatives from the start again, and must never meet the keys of the
/// earlier one.
enum BatchBookings {
    /// The channel as account and transfer ids name it: its id, then `@{generation}` after the first.
    static func tag(_ channel: Hash32, _ generation: Int) -> String {
        generation == 0 ? channel.hex : "\(channel.hex)@\(generation)"
    }

    static func clearing(_ asset: AssetID, _ channel: Hash32, generation: Int = 0) throws(LedgerError) -> AccountID {
        try AccountID("evm:\(asset.rawValue):batch:\(tag(channel, generation))")
    }

    static func escrow(_ asset: AssetID, _ channel: Hash32, generation: Int = 0) throws(LedgerError) -> AccountID {
        try AccountID("evm:\(asset.rawValue):batch:\(tag(channel, generation)):payer")
    }

    static func metadata(_ channel: Hash32, _ generation: Int) -> Metadata {
        var metadata: Metadata = ["channel": .string(channel.hex)]
        if generation > 0 { metadata["generation"] = .string(String(generation)) }
        return metadata
    }

    static func claimed(_ asset: AssetID, _ receiver: Address) throws(LedgerError) -> AccountID {
        try AccountID("evm:\(asset.rawValue):batch-claimed:\(receiver.lowercased)")
    }

    static func incoming(_ asset: AssetID, _ receiver: Address) throws(LedgerError) -> AccountID {
        try AccountID("evm:\(asset.rawValue):incoming:\(receiver.lowercased)")
    }

    /// The accounts a channel's bookings touch.
    static func accounts(_ asset: AssetID, channel: Hash32, generation: Int = 0, receiver: Address, merchant: String) throws(LedgerError)
        -> [Account]
    {
        [
            Account(id: try clearing(asset, channel, generation: generation), asset: asset, code: "clearing", normalSide: .debit),
            Account(id: try escrow(asset, channel, generation: generation), asset: asset, code: "escrow", normalSide: .credit),
            Account(id: try claimed(asset, receiver), asset: asset, code: "clearing", normalSide: .debit),
            Account(id: try incoming(asset, receiver), asset: asset, code: "clearing", normalSide: .debit),
            Account(id: try AccountID(merchant), asset: asset, code: "revenue", normalSide: .credit),
        ]
    }

    static func deposit(
        _ asset: AssetID, channel: Hash32, generation: Int = 0, nonce: Hash32, amount: EVM.UInt256, transaction: String
    ) throws(LedgerError) -> NewTransfer {
        var metadata = metadata(channel, generation)
        metadata["tx_hash"] = .string(transaction)
        return try funding(
            asset, id: "x402:batch:deposit:\(nonce.hex)", channel: channel, generation: generation, amount: amount, metadata: metadata)
    }

    /// What a channel this server first sees already holds for its payer (funded on chain through
    /// another server, or before this one lost its records): booked as one deposit.
    static func opening(_ asset: AssetID, channel: Hash32, generation: Int = 0, amount: EVM.UInt256) throws(LedgerError) -> NewTransfer {
        try funding(
            asset, id: "x402:batch:opening:\(tag(channel, generation))", channel: channel, generation: generation, amount: amount,
            metadata: metadata(channel, generation))
    }

    private static func funding(
        _ asset: AssetID, id: String, channel: Hash32, generation: Int, amount: EVM.UInt256, metadata: Metadata
    ) throws(LedgerError) -> NewTransfer {
        let value = try ledgerAmount(amount)
        return NewTransfer(
            id: try TransferID(id),
            .post([
                .debit(try clearing(asset, channel, generation: generation), value),
                .credit(try escrow(asset, channel, generation: generation), value),
            ]),
            metadata: metadata)
    }

    /// A charge of `amount`, bringing the channel's charged cumulative to `cumulative`.
    static func charge(
        _ asset: AssetID, channel: Hash32, generation: Int = 0, merchant: String, amount: EVM.UInt256, cumulative: EVM.UInt256
    ) throws(LedgerError) -> NewTransfer {
        let value = try ledgerAmount(amount)
        var metadata = metadata(channel, generation)
        metadata["cumulative"] = .string(cumulative.description)
        return NewTransfer(
            id: try TransferID("x402:batch:\(tag(channel, generation)):\(cumulative.description)"),
            .post([.debit(try escrow(asset, channel, generation: generation), value), .credit(try AccountID(merchant), value)]),
            metadata: metadata)
    }

    /// A claim of `amount`, bringing what is claimed on the channel to `total`.
    static func claim(
        _ asset: AssetID, channel: Hash32, generation: Int = 0, receiver: Address, amount: EVM.UInt256, total: EVM.UInt256,
        transaction: String
    ) throws(LedgerError) -> NewTransfer {
        let value = try ledgerAmount(amount)
        var metadata = metadata(channel, generation)
        metadata["tx_hash"] = .string(transaction)
        return NewTransfer(
            id: try TransferID("x402:batch:claim:\(tag(channel, generation)):\(total.description)"),
            .post([.debit(try claimed(asset, receiver), value), .credit(try clearing(asset, channel, generation: generation), value)]),
            metadata: metadata)
    }

    static func sweep(_ asset: AssetID, receiver: Address, amount: EVM.UInt256, transaction: Hash32) throws(LedgerError) -> NewTransfer {
        let value = try ledgerAmount(amount)
        return NewTransfer(
            id: try TransferID("x402:batch:settle:\(transaction.hex)"),
            .post([.debit(try incoming(asset, receiver), value), .credit(try claimed(asset, receiver), value)]),
            metadata: ["receiver": .string(receiver.lowercased), "tx_hash": .string(transaction.hex)])
    }

    /// The refund at `nonce` of `amount` to the payer.
    static func refund(
        _ asset: AssetID, channel: Hash32, generation: Int = 0, nonce: EVM.UInt256, amount: EVM.UInt256, transaction: String
    ) throws(LedgerError) -> NewTransfer {
        let value = try ledgerAmount(amount)
        var metadata = metadata(channel, generation)
        metadata["tx_hash"] = .string(transaction)
        return NewTransfer(
            id: try TransferID("x402:batch:refund:\(tag(channel, generation)):\(nonce.description)"),
            .post([
                .debit(try escrow(asset, channel, generation: generation), value),
                .credit(try clearing(asset, channel, generation: generation), value),
            ]),
            metadata: metadata)
    }

    static func ledgerAmount(_ amount: EVM.UInt256) throws(LedgerError) -> Ledger.UInt256 {
        guard let value = Ledger.UInt256(decimal: amount.description) else {
            throw LedgerError(.invalidAmount, "amount \(amount) is not a ledger amount")
        }
        return value
    }
}
