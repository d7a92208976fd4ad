import EVM
import Ledger

/// A voucher's new channel state and the booking of its charge, committed together by
/// ``SessionStore/enqueue(_:)`` on the condition that the channel is still as it was read.
public struct VoucherCommit: Sendable {
    /// The channel's accepted and spent amounts the new state was computed from.
    public struct Expected: Sendable, Hashable {
        public var accepted: EVM.UInt256
        public var spent: EVM.UInt256
    }

    public var channel: Hash32
    public var expected: Expected
    public var accepted: EVM.UInt256
    public var signature: [UInt8]
    public var spent: EVM.UInt256
    public var chargedCumulative: EVM.UInt256?
    /// The charge's ledger transfer; nil when the voucher pays nothing now (a close's final voucher).
    public var transfer: NewTransfer?

    /// How a commit ended.
    public enum Outcome: Sendable, Hashable {
        /// Durable: serve the response.
        case committed
        /// The channel changed since it was read (another request or replica, a close request);
        /// nothing was written for this voucher.
        case conflict
        /// The database failed; nothing of the batch was written.
        case failed(String)
    }
}
