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
enum BatchBookings {
    static func clearing(_ asset: AssetID, _ channel: Hash32) throws(LedgerError) -> AccountID {
        try AccountID("evm:\(asset.rawValue):batch:\(channel.hex)")
    }

    static func escrow(_ asset: AssetID, _ channel: Hash32) throws(LedgerError) -> AccountID {
        try AccountID("evm:\(asset.rawValue):batch:\(channel.hex):payer")
    }

    static func claimed(_ asset: AssetID, _ receiver: Address) throws(LedgerError) -> AccountID {
        try AccountID("evm:\(asset.rawValue):batch-claimed:\(receiver.lowercased)")
    }

    static func incoming(_ asset: AssetID, _ receiver: Address) throws(LedgerError) -> AccountID {
        try AccountID("evm:\(asset.rawValue):incoming:\(receiver.lowercased)")
    }

    /// The accounts a channel's bookings touch.
    static func accounts(_ asset: AssetID, channel: Hash32, receiver: Address, merchant: String) throws(LedgerError) -> [Account] {
        [
            Account(id: try clearing(asset, channel), asset: asset, code: "clearing", normalSide: .debit),
            Account(id: try escrow(asset, channel), asset: asset, code: "escrow", normalSide: .credit),
            Account(id: try claimed(asset, receiver), asset: asset, code: "clearing", normalSide: .debit),
            Account(id: try incoming(asset, receiver), asset: asset, code: "clearing", normalSide: .debit),
            Account(id: try AccountID(merchant), asset: asset, code: "revenue", normalSide: .credit),
        ]
    }

    static func deposit(_ asset: AssetID, channel: Hash32, nonce: Hash32, amount: EVM.UInt256, transaction: String) throws(LedgerError)
        -> NewTransfer
    {
        try funding(
            asset, id: "x402:batch:deposit:\(nonce.hex)", channel: channel, amount: amount,
            metadata: ["channel": .string(channel.hex), "tx_hash": .string(transaction)])
    }

    /// What a channel this server first sees already holds for its payer (funded on chain through
    /// another server, or before this one lost its records): booked as one deposit.
    static func opening(_ asset: AssetID, channel: Hash32, amount: EVM.UInt256) throws(LedgerError) -> NewTransfer {
        try funding(
            asset, id: "x402:batch:opening:\(channel.hex)", channel: channel, amount: amount, metadata: ["channel": .string(channel.hex)])
    }

    private static func funding(_ asset: AssetID, id: String, channel: Hash32, amount: EVM.UInt256, metadata: Metadata) throws(LedgerError)
        -> NewTransfer
    {
        let value = try ledgerAmount(amount)
        return NewTransfer(
            id: try TransferID(id), .post([.debit(try clearing(asset, channel), value), .credit(try escrow(asset, channel), value)]),
            metadata: metadata)
    }

    /// A charge of `amount`, bringing the channel's charged cumulative to `cumulative`.
    static func charge(_ asset: AssetID, channel: Hash32, merchant: String, amount: EVM.UInt256, cumulative: EVM.UInt256)
        throws(LedgerError)
        -> NewTransfer
    {
        let value = try ledgerAmount(amount)
        return NewTransfer(
            id: try TransferID("x402:batch:\(channel.hex):\(cumulative.description)"),
            .post([.debit(try escrow(asset, channel), value), .credit(try AccountID(merchant), value)]),
            metadata: ["channel": .string(channel.hex), "cumulative": .string(cumulative.description)])
    }

    /// A claim of `amount`, bringing what is claimed on the channel to `total`.
    static func claim(_ asset: AssetID, channel: Hash32, receiver: Address, amount: EVM.UInt256, total: EVM.UInt256, transaction: String)
        throws(LedgerError) -> NewTransfer
    {
        let value = try ledgerAmount(amount)
        return NewTransfer(
            id: try TransferID("x402:batch:claim:\(channel.hex):\(total.description)"),
            .post([.debit(try claimed(asset, receiver), value), .credit(try clearing(asset, channel), value)]),
            metadata: ["channel": .string(channel.hex), "tx_hash": .string(transaction)])
    }

    static func sweep(_ asset: AssetID, receiver: Address, amount: EVM.UInt256, transaction: Hash32) throws(LedgerError) -> NewTransfer {
        let value = try ledgerAmount(amount)
        return NewTransfer(
            id: try TransferID("x402:batch:settle:\(transaction.hex)"),
            .post([.debit(try incoming(asset, receiver), value), .credit(try claimed(asset, receiver), value)]),
            metadata: ["receiver": .string(receiver.lowercased), "tx_hash": .string(transaction.hex)])
    }

    /// The refund at `nonce` of `amount` to the payer.
    static func refund(_ asset: AssetID, channel: Hash32, nonce: EVM.UInt256, amount: EVM.UInt256, transaction: String) throws(LedgerError)
        -> NewTransfer
    {
        let value = try ledgerAmount(amount)
        return NewTransfer(
            id: try TransferID("x402:batch:refund:\(channel.hex):\(nonce.description)"),
            .post([.debit(try escrow(asset, channel), value), .credit(try clearing(asset, channel), value)]),
            metadata: ["channel": .string(channel.hex), "tx_hash": .string(transaction)])
    }

    static func ledgerAmount(_ amount: EVM.UInt256) throws(LedgerError) -> Ledger.UInt256 {
        guard let value = Ledger.UInt256(decimal: amount.description) else {
            throw LedgerError(.invalidAmount, "amount \(amount) is not a ledger amount")
        }
        return value
    }
}
