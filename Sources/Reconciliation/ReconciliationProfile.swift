import Foundation
import Ledger
import RailKit

/// How one rail is reconciled: which of its ledger transfers the rail's statement lists, the
/// accounts that mirror its fees and its balance, its tolerances and its SLA. Part of every run's
/// recorded inputs.
public struct ReconciliationProfile: Sendable, Hashable, Codable {
    /// A one-to-many check: a statement record of `statementType` (a payout) against the sum of the
    /// ledger transfers whose parent is the record's `detail` (the balance transactions it settles).
    public struct GroupRule: Sendable, Hashable, Codable {
        public var statementType: String
        /// The record's detail naming the group (`source`: the payout id).
        public var detail: String
        /// Transitions that add to the group's sum.
        public var plus: [String]
        /// Transitions that subtract from it.
        public var minus: [String]

        public init(statementType: String, detail: String, plus: [String], minus: [String]) {
            self.statementType = statementType
            self.detail = detail
            self.plus = plus
            self.minus = minus
        }

        enum CodingKeys: String, CodingKey {
            case detail, plus, minus
            case statementType = "statement_type"
        }
    }

    /// The fund-flow transitions whose transfer is the ledger's side of one statement record.
    public var statementTransitions: [String]
    /// Account templates (`{asset}`) whose debits in a transfer are its fee.
    public var feeAccounts: [String]
    /// Account templates whose summed balance is what the rail reports as its balance.
    public var balanceAccounts: [String]
    /// Account templates of the fund flow's clearing roles.
    public var clearingAccounts: [String]
    /// How long an unmatched item may stay open before it is a break, in seconds.
    public var slaSeconds: Int64
    /// How long money may sit in a clearing account, in seconds.
    public var clearingSLASeconds: Int64
    /// The rule pass: records and transfers of different references match when their amounts differ
    /// by at most this many base units and their times by at most `timeToleranceSeconds`.
    public var amountTolerance: UInt256
    public var timeToleranceSeconds: Int64
    /// A fee difference of at most this many base units is booked to the suspense account
    /// automatically (0: never).
    public var feeAutoResolveTolerance: UInt256
    /// `{asset}` template of the account automatic resolutions post against.
    public var suspenseAccount: String
    public var groups: [GroupRule]

    public init(
        statementTransitions: [String], feeAccounts: [String] = [], balanceAccounts: [String] = [], clearingAccounts: [String] = [],
        slaSeconds: Int64 = 86_400, clearingSLASeconds: Int64 = 86_400, amountTolerance: UInt256 = 0, timeToleranceSeconds: Int64 = 0,
        feeAutoResolveTolerance: UInt256 = 0, suspenseAccount: String = "recon:{asset}:suspense", groups: [GroupRule] = []
    ) {
        self.statementTransitions = statementTransitions
        self.feeAccounts = feeAccounts
        self.balanceAccounts = balanceAccounts
        self.clearingAccounts = clearingAccounts
        self.slaSeconds = slaSeconds
        self.clearingSLASeconds = clearingSLASeconds
        self.amountTolerance = amountTolerance
        self.timeToleranceSeconds = timeToleranceSeconds
        self.feeAutoResolveTolerance = feeAutoResolveTolerance
        self.suspenseAccount = suspenseAccount
        self.groups = groups
    }

    enum CodingKeys: String, CodingKey {
        case groups
        case statementTransitions = "statement_transitions"
        case feeAccounts = "fee_accounts"
        case balanceAccounts = "balance_accounts"
        case clearingAccounts = "clearing_accounts"
        case slaSeconds = "sla_seconds"
        case clearingSLASeconds = "clearing_sla_seconds"
        case amountTolerance = "amount_tolerance"
        case timeToleranceSeconds = "time_tolerance_seconds"
        case feeAutoResolveTolerance = "fee_auto_resolve_tolerance"
        case suspenseAccount = "suspense_account"
    }

    /// The profile Settle ships for the rail's kind. Card: the balance transactions' transitions,
    /// the processor balance as available + pending, payouts checked against what they settle.
    /// ERC-20: the `seen` hold of each transfer log. Others: every transition that starts a payment.
    public static func standard(for descriptor: RailDescriptor) -> ReconciliationProfile {
        let clearing = descriptor.fundFlow.accounts.filter(\.clearing).map(\.template)
        switch descriptor.kind {
        case "card":
            return ReconciliationProfile(
                statementTransitions: ["captured", "refunded", "paid_out", "disputed", "dispute_won", "payout_failed"],
                feeAccounts: ["card:{asset}:fees"], balanceAccounts: ["card:{asset}:available", "card:{asset}:pending"],
                clearingAccounts: clearing, slaSeconds: 86_400, clearingSLASeconds: 7 * 86_400, feeAutoResolveTolerance: 5,
                groups: [.init(statementType: "payout", detail: "source", plus: ["available"], minus: ["available_negative"])])
        case "erc20":
            return ReconciliationProfile(statementTransitions: ["seen"], clearingAccounts: clearing, slaSeconds: 3_600)
        default:
            let starting = descriptor.fundFlow.transitions.filter { $0.from.isEmpty }.map(\.name)
            return ReconciliationProfile(statementTransitions: starting, clearingAccounts: clearing)
        }
    }
}
