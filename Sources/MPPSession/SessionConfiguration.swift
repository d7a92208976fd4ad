import EVM
import Foundation
import Ledger
import MPP

/// What a `tempo/session` offer sells and on which escrow: the price per unit, the channel terms
/// the challenge advertises, the key that settles and closes channels, and the ledger asset the
/// charges are booked in.
public struct SessionConfiguration: Sendable {
    /// `v1` (`TempoStreamChannel`) or `v2` (the TIP-1034 reserve); vouchers of both are accepted
    /// when ``acceptedProtocols`` says so, the challenge advertises this one.
    public var sessionProtocol: TempoChannelEscrow
    /// The escrow contract of ``sessionProtocol``.
    public var escrow: Address
    /// Other escrows whose channels are accepted too (e.g. v1 beside v2 for older clients).
    public var otherEscrows: [TempoChannelEscrow: Address]
    public var chainID: UInt64
    /// The TIP-20 token (`currency`).
    public var token: Address
    /// The payee of the channels (`recipient`).
    public var recipient: Address
    /// Signs `settle` and `close`: the payee itself, or (v2) the channel's operator.
    public var settlementKey: PrivateKey
    /// The v2 operator advertised in the challenge; nil for none.
    public var `operator`: Address?
    /// Pays the fees of clients' open and top-up transactions when set.
    public var feePayer: PrivateKey?
    /// The price of one unit, in base units.
    public var amountPerUnit: EVM.UInt256
    /// What a unit is, e.g. `request`.
    public var unitType: String
    /// The deposit the challenge suggests.
    public var suggestedDeposit: EVM.UInt256
    /// The smallest increase of a voucher.
    public var minVoucherDelta: EVM.UInt256
    /// The ledger asset the charges are booked in (the Tempo rail's asset id of ``token``).
    public var asset: AssetID
    /// How long a channel's chain state (deposit, close request) is trusted before a voucher re-reads it.
    public var channelStateTTL: Duration
    /// How long a voucher that arrives ahead of its predecessor (higher than the accepted one by
    /// more than one unit while other vouchers of the channel are being checked) waits for it, so
    /// that concurrent calls on one session are accepted in their cumulative order instead of the
    /// lower one being refused as `delta-too-small`; nil: never wait.
    public var reorderWindow: Duration?
    /// The clock of receipts and of the chain-state TTL.
    public var now: @Sendable () -> Date

    public init(
        sessionProtocol: TempoChannelEscrow = .v2, escrow: Address = TempoChannelEscrow.v2Address,
        otherEscrows: [TempoChannelEscrow: Address] = [:], chainID: UInt64, token: Address, recipient: Address,
        settlementKey: PrivateKey, operator: Address? = nil, feePayer: PrivateKey? = nil, amountPerUnit: EVM.UInt256,
        unitType: String = "request", suggestedDeposit: EVM.UInt256, minVoucherDelta: EVM.UInt256 = 1, asset: AssetID,
        channelStateTTL: Duration = .seconds(60), reorderWindow: Duration? = .milliseconds(20),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.sessionProtocol = sessionProtocol
        self.escrow = escrow
        self.otherEscrows = otherEscrows
        self.chainID = chainID
        self.token = token
        self.recipient = recipient
        self.settlementKey = settlementKey
        self.operator = `operator`
        self.feePayer = feePayer
        self.amountPerUnit = amountPerUnit
        self.unitType = unitType
        self.suggestedDeposit = suggestedDeposit
        self.minVoucherDelta = minVoucherDelta
        self.asset = asset
        self.channelStateTTL = channelStateTTL
        self.reorderWindow = reorderWindow
        self.now = now
    }

    /// The escrow of each accepted protocol.
    public var escrows: [TempoChannelEscrow: Address] {
        otherEscrows.merging([sessionProtocol: escrow]) { _, advertised in advertised }
    }

    /// The challenge's request object (mpp-tempo §2.2): `amount` per unit, `unitType`,
    /// `suggestedDeposit`, `currency`, `recipient` and `methodDetails`.
    public var request: [String: MPP.JSONValue] {
        var details: [String: MPP.JSONValue] = [
            "escrowContract": .string(escrow.lowercased), "chainId": .integer(Int64(chainID)),
            "minVoucherDelta": .string(minVoucherDelta.description), "sessionProtocol": .string(sessionProtocol.rawValue),
        ]
        if sessionProtocol == .v2 { details["operator"] = .string((`operator` ?? .zero).lowercased) }
        if feePayer != nil { details["feePayer"] = .bool(true) }
        return [
            "amount": .string(amountPerUnit.description), "unitType": .string(unitType),
            "suggestedDeposit": .string(suggestedDeposit.description), "currency": .string(token.lowercased),
            "recipient": .string(recipient.lowercased), "methodDetails": .object(details),
        ]
    }
}
