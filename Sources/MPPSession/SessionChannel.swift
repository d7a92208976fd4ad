import EVM
import Foundation

/// A payment channel as the session server keeps it: its identity and deposit as read from the
/// chain, and the vouchers it accepted and what requests spent.
public struct SessionChannel: Sendable, Hashable {
    public var id: Hash32
    public var version: TempoChannelEscrow
    public var escrow: Address
    /// The channel's identity (v1 channels have a zero operator and nonce hash).
    public var descriptor: TempoChannelDescriptor
    /// The deposit in the escrow.
    public var deposit: UInt256
    /// Paid out to the payee on chain.
    public var settled: UInt256
    /// The highest voucher accepted.
    public var accepted: UInt256
    /// The signature of the voucher for ``accepted`` (empty before the first one).
    public var signature: [UInt8]
    /// What requests consumed; each increase is a charge booked to the merchant.
    public var spent: UInt256
    /// The cumulative of the voucher that paid the last charge: the same voucher again is a retry
    /// of that request, served without another charge.
    public var chargedCumulative: UInt256?
    /// When the payer asked to close (unix seconds); 0 when it did not.
    public var closeRequestedAt: UInt64
    /// A cooperative close is under way.
    public var closing: Bool
    /// Closed on chain (cooperatively, or withdrawn by the payer).
    public var closed: Bool
    /// When the chain state (deposit, settled, close request) was last read.
    public var chainReadAt: ContinuousClock.Instant
    /// The ledger account the channel's charges go to.
    public var merchantAccount: String
    /// Vouchers accepted in all (read by the settler).
    public var vouchers: Int64 = 0

    /// Who must sign vouchers, as the escrow checks it.
    public var signer: Address { descriptor.expectedSigner }

    /// Whether the channel still takes vouchers.
    public var isOpen: Bool { !closed && !closing && closeRequestedAt == 0 }
}
