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
    /// A cross-rail check: every transfer of this rail's `transition` in the day must be met by a
    /// transfer of another rail that names it (a card payout by the bank file's deposit), with the
    /// same amount, within `slaSeconds`.
    public struct CounterpartRule: Sendable, Hashable, Codable {
        /// Which of a checked transfer's references the counterpart must name.
        public enum MatchedBy: String, Sendable, Hashable, Codable, CaseIterable {
            /// Its own reference (`payout_arrived`: the payout id).
            case reference
            /// Its parent's (`paid_out`: the balance transaction's payout, the id the processor puts
            /// on the bank transfer), so that a payout is checked from the day it was sent.
            case parent
        }

        /// This rail's transition whose transfers are checked (`paid_out`, `payout_arrived`).
        public var transition: String
        /// The other rail's id (`bank`) and its transition that meets them (`received`).
        public var rail: String
        public var counterpartTransition: String
        /// The key of the counterpart transfer's metadata that carries this transfer's reference
        /// (the bank line's `bank_reference`: the payout id the processor put on the transfer).
        public var referenceKey: String
        /// How long the money may take to get there.
        public var slaSeconds: Int64
        public var matchedBy: MatchedBy

        public init(
            transition: String, rail: String, counterpartTransition: String, referenceKey: String, slaSeconds: Int64,
            matchedBy: MatchedBy = .reference
        ) {
            self.transition = transition
            self.rail = rail
            self.counterpartTransition = counterpartTransition
            self.referenceKey = referenceKey
            self.slaSeconds = slaSeconds
            self.matchedBy = matchedBy
        }

        /// Rules recorded in runs before `matched_by` existed read as matched by reference.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                transition: try c.decode(String.self, forKey: .transition), rail: try c.decode(String.self, forKey: .rail),
                counterpartTransition: try c.decode(String.self, forKey: .counterpartTransition),
                referenceKey: try c.decode(String.self, forKey: .referenceKey), slaSeconds: try c.decode(Int64.self, forKey: .slaSeconds),
                matchedBy: try c.decodeIfPresent(MatchedBy.self, forKey: .matchedBy) ?? .reference)
        }

        enum CodingKeys: String, CodingKey {
            case transition, rail
            case counterpartTransition = "counterpart_transition"
            case referenceKey = "reference_key"
            case slaSeconds = "sla_seconds"
            case matchedBy = "matched_by"
        }
    }

    /// How a ledger transfer's amount, compared with a statement record's, is read from its entries.
    public enum AmountMeasure: String, Sendable, Hashable, Codable {
        /// The sum of its debits: a payment split into what the rail keeps (net) and its fee.
        case debits
        /// Its largest debit: a movement booked through several pairs of accounts for the same
        /// amount (a channel settlement pays the merchant's wallet and draws down the payer's
        /// escrow balance: two debits of the one amount the chain moved).
        case largestDebit = "largest_debit"
    }

    /// Account templates (`{asset}`) whose debits in a transfer are its fee.
    public var feeAccounts: [String]
    /// Account templates whose summed balance is what the rail reports as its balance; a
    /// template's placeholders other than `{asset}` are filled by the rail balance's bindings.
    public var balanceAccounts: [String]
    /// Whether the ledger's side of the drift check counts pending amounts too: a chain's balance
    /// includes transfers the ledger still holds until they are final.
    public var balanceIncludesPending: Bool
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
    public var counterparts: [CounterpartRule]
    public var amountMeasure: AmountMeasure

    public init(
        statementTransitions: [String], feeAccounts: [String] = [], balanceAccounts: [String] = [], balanceIncludesPending: Bool = false,
        clearingAccounts: [String] = [],
        slaSeconds: Int64 = 86_400, clearingSLASeconds: Int64 = 86_400, amountTolerance: UInt256 = 0, timeToleranceSeconds: Int64 = 0,
        feeAutoResolveTolerance: UInt256 = 0, suspenseAccount: String = "recon:{asset}:suspense", groups: [GroupRule] = [],
        counterparts: [CounterpartRule] = [], amountMeasure: AmountMeasure = .debits
    ) {
        self.statementTransitions = statementTransitions
        self.feeAccounts = feeAccounts
        self.balanceAccounts = balanceAccounts
        self.balanceIncludesPending = balanceIncludesPending
        self.clearingAccounts = clearingAccounts
        self.slaSeconds = slaSeconds
        self.clearingSLASeconds = clearingSLASeconds
        self.amountTolerance = amountTolerance
        self.timeToleranceSeconds = timeToleranceSeconds
        self.feeAutoResolveTolerance = feeAutoResolveTolerance
        self.suspenseAccount = suspenseAccount
        self.groups = groups
        self.counterparts = counterparts
        self.amountMeasure = amountMeasure
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case groups, counterparts
        case amountMeasure = "amount_measure"
        case statementTransitions = "statement_transitions"
        case feeAccounts = "fee_accounts"
        case balanceAccounts = "balance_accounts"
        case balanceIncludesPending = "balance_includes_pending"
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
    /// ERC-20: the `seen` hold of each transfer log (`sending` for one leaving a watched address),
    /// each watched address's wallet account (held transfers included) against its `balanceOf`. Tempo: every movement, a transfer's amount its
    /// largest debit, each watched address's wallet account against its `balanceOf`. Others: every
    /// transition that starts a payment.
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
            return ReconciliationProfile(
                statementTransitions: ["seen", "sending"], balanceAccounts: ["evm:{asset}:wallet:{address}"], balanceIncludesPending: true,
                clearingAccounts: clearing, slaSeconds: 3_600)
        case "tempo":
            // A settlement books the one amount the chain moved twice: to the merchant's wallet and
            // out of the payer's escrow balance. The opening balance is no movement of the day.
            // Nothing is held (final on inclusion): the posted wallet is what balanceOf says.
            let starting = descriptor.fundFlow.transitions.filter { $0.from.isEmpty && $0.name != "opening" }.map(\.name)
            return ReconciliationProfile(
                statementTransitions: starting, balanceAccounts: ["tempo:{asset}:wallet:{address}"], balanceIncludesPending: false,
                clearingAccounts: clearing, amountMeasure: .largestDebit)
        default:
            let starting = descriptor.fundFlow.transitions.filter { $0.from.isEmpty }.map(\.name)
            return ReconciliationProfile(statementTransitions: starting, clearingAccounts: clearing)
        }
    }
}

extension RailBalance {
    /// The account `template` names for this balance: `{asset}` and each binding filled in; nil
    /// when a placeholder is left that the balance does not bind (the template is not its).
    func account(from template: String) -> String? {
        var id = template.replacingOccurrences(of: "{asset}", with: asset.rawValue)
        for (key, value) in bindings { id = id.replacingOccurrences(of: "{\(key)}", with: value) }
        return id.contains("{") ? nil : id
    }
}
