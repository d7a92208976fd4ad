import Crypto
import Foundation
import Ledger

/// The states a rail's money moves through and, for each transition, the ledger postings between
/// its accounts: the mapping from rail events to transfers, as data.
///
/// Account templates name ledger accounts with placeholders: `{asset}` is the event's asset id and
/// any other `{name}` is taken from the event's ``RailEvent/bindings`` (an agent's wallet). Amount
/// fields name one of the event's ``RailEvent/amounts``; a posting whose amount is zero is left
/// out (a refund carries no fee), so the rail never books a zero line.
public struct FundFlow: Sendable, Hashable, Codable {
    /// A ledger account the flow moves money through.
    public struct AccountRole: Sendable, Hashable, Codable {
        /// `card:{asset}:clearing`, or `{wallet}` for an account the event names.
        public var template: String
        public var normalSide: Account.Side
        public var limit: Account.Limit
        /// A clearing account returns to zero once the money it holds has moved on: the
        /// reconciler reports one that does not as a break after its window.
        public var clearing: Bool
        public var summary: String

        public init(_ template: String, normalSide: Account.Side, limit: Account.Limit = .none, clearing: Bool = false, summary: String) {
            self.template = template
            self.normalSide = normalSide
            self.limit = limit
            self.clearing = clearing
            self.summary = summary
        }

        enum CodingKeys: String, CodingKey {
            case template, limit, clearing, summary
            case normalSide = "normal_side"
        }
    }

    /// What a transition's transfer does in the ledger.
    public enum Action: Sendable, Hashable, Codable {
        /// Moves money now.
        case post
        /// Holds money until a later transition posts or voids it; `timeout` in seconds.
        case hold(timeout: Int64?)
        /// Posts the hold booked by transition `of` for the same reference; `amount` names the
        /// event's amount for a partial post (nil: all of it).
        case postHold(of: String, amount: String?)
        /// Voids the hold booked by transition `of` for the same reference.
        case voidHold(of: String)

        enum CodingKeys: String, CodingKey { case type, timeout, of, amount }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            switch try c.decode(String.self, forKey: .type) {
            case "post": self = .post
            case "hold": self = .hold(timeout: try c.decodeIfPresent(Int64.self, forKey: .timeout))
            case "post_hold":
                self = .postHold(of: try c.decode(String.self, forKey: .of), amount: try c.decodeIfPresent(String.self, forKey: .amount))
            case "void_hold": self = .voidHold(of: try c.decode(String.self, forKey: .of))
            case let other:
                throw DecodingError.dataCorruptedError(
                    forKey: .type, in: c, debugDescription: "action type must be post, hold, post_hold or void_hold, got \(other)")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .post: try c.encode("post", forKey: .type)
            case .hold(let timeout):
                try c.encode("hold", forKey: .type)
                try c.encodeIfPresent(timeout, forKey: .timeout)
            case .postHold(let of, let amount):
                try c.encode("post_hold", forKey: .type)
                try c.encode(of, forKey: .of)
                try c.encodeIfPresent(amount, forKey: .amount)
            case .voidHold(let of):
                try c.encode("void_hold", forKey: .type)
                try c.encode(of, forKey: .of)
            }
        }
    }

    /// One line of a transition's transfer.
    public struct PostingTemplate: Sendable, Hashable, Codable {
        public var direction: Posting.Direction
        /// An ``AccountRole/template`` of the flow.
        public var account: String
        /// The name of one of the event's amounts.
        public var amount: String

        public init(_ direction: Posting.Direction, _ account: String, _ amount: String) {
            self.direction = direction
            self.account = account
            self.amount = amount
        }
    }

    /// A move from some states to one, and what it books.
    public struct Transition: Sendable, Hashable, Codable {
        /// The name events carry in ``RailEvent/transition``.
        public var name: String
        /// The states it leaves; empty for a transition that starts a payment.
        public var from: [String]
        public var to: String
        public var action: Action
        public var postings: [PostingTemplate]
        public var summary: String

        public init(_ name: String, from: [String], to: String, action: Action = .post, postings: [PostingTemplate], summary: String) {
            self.name = name
            self.from = from
            self.to = to
            self.action = action
            self.postings = postings
            self.summary = summary
        }
    }

    public var states: [String]
    public var accounts: [AccountRole]
    public var transitions: [Transition]

    public init(states: [String], accounts: [AccountRole], transitions: [Transition]) {
        self.states = states
        self.accounts = accounts
        self.transitions = transitions
    }

    /// The transition named `name`.
    public func transition(_ name: String) -> Transition? {
        transitions.first { $0.name == name }
    }

    /// Checks that the flow is coherent: known states and accounts, unique names, holds resolved
    /// only by transitions that name a hold.
    public func validate() throws(RailError) {
        func fail(_ message: String) -> RailError { RailError(.invalidFundFlow, message) }
        guard Set(states).count == states.count, !states.isEmpty else { throw fail("states must be unique and not empty") }
        guard Set(transitions.map(\.name)).count == transitions.count else { throw fail("transition names must be unique") }
        let templates = Set(accounts.map(\.template))
        guard templates.count == accounts.count else { throw fail("account templates must be unique") }
        for t in transitions {
            for state in t.from + [t.to] where !states.contains(state) {
                throw fail("transition \(t.name) names unknown state \(state)")
            }
            for posting in t.postings where !templates.contains(posting.account) {
                throw fail("transition \(t.name) posts to \(posting.account), which is not among the flow's accounts")
            }
            switch t.action {
            case .post, .hold:
                guard t.postings.count >= 2 else { throw fail("transition \(t.name) needs at least two postings") }
                guard Set(t.postings.map(\.direction)).count == 2 else {
                    throw fail("transition \(t.name) needs a debit and a credit")
                }
            case .postHold(let of, _), .voidHold(let of):
                guard t.postings.isEmpty else { throw fail("transition \(t.name) resolves a hold: it takes no postings") }
                guard case .hold = transition(of)?.action else {
                    throw fail("transition \(t.name) resolves \(of), which is not a hold transition of the flow")
                }
            }
            if case .hold(let timeout?) = t.action, timeout <= 0 { throw fail("transition \(t.name): timeout must be positive") }
        }
    }

    /// The ledger accounts the flow's fixed roles (those without placeholders other than
    /// `{asset}`) need for `asset`.
    public func fixedAccounts(for asset: AssetID) throws(RailError) -> [Account] {
        var result: [Account] = []
        for role in accounts where !role.template.replacingOccurrences(of: "{asset}", with: "").contains("{") {
            let id = try Self.accountID(role.template, asset: asset, bindings: [:])
            result.append(
                Account(
                    id: id, asset: asset, code: "rail", normalSide: role.normalSide, limit: role.limit,
                    metadata: ["role": .string(role.template)]))
        }
        return result
    }

    /// The ledger accounts that `event`'s transition posts to, as the flow's roles declare them.
    public func accounts(for event: RailEvent) throws(RailError) -> [Account] {
        guard let t = transition(event.transition) else {
            throw RailError(.unknownTransition, "no transition \(event.transition.debugDescription)")
        }
        var result: [Account] = []
        for template in Set(t.postings.map(\.account)).sorted() {
            guard let role = accounts.first(where: { $0.template == template }) else { continue }
            let id = try Self.accountID(template, asset: event.asset, bindings: event.bindings)
            result.append(
                Account(
                    id: id, asset: event.asset, code: "rail", normalSide: role.normalSide, limit: role.limit,
                    metadata: ["role": .string(role.template)]))
        }
        return result
    }

    /// The transfer that books `event` on rail `rail`, or nil when every amount it would move is
    /// zero. Its id and rail reference derive from `(transition, reference)`: booking the same event
    /// again is idempotent.
    public func transfer(for event: RailEvent, rail: String) throws(RailError) -> NewTransfer? {
        guard let t = transition(event.transition) else {
            throw RailError(.unknownTransition, "rail \(rail) has no transition \(event.transition.debugDescription)")
        }
        var postings: [Posting] = []
        for template in t.postings {
            guard let amount = event.amounts[template.amount] else {
                throw RailError(.missingAmount, "event \(event.transition) \(event.reference) has no amount \(template.amount)")
            }
            if amount.isZero { continue }
            let account = try Self.accountID(template.account, asset: event.asset, bindings: event.bindings)
            postings.append(Posting(template.direction, account, amount))
        }
        let action: NewTransfer.Action
        switch t.action {
        case .post:
            guard !postings.isEmpty else { return nil }
            action = .post(postings)
        case .hold(let timeout):
            guard !postings.isEmpty else { return nil }
            action = .hold(postings, timeout: timeout)
        case .postHold(let of, let field):
            var amount: UInt256?
            if let field {
                guard let value = event.amounts[field] else {
                    throw RailError(.missingAmount, "event \(event.transition) \(event.reference) has no amount \(field)")
                }
                amount = value
            }
            action = .postHold(try Self.transferID(rail: rail, transition: of, reference: event.reference), amount: amount)
        case .voidHold(let of):
            action = .voidHold(try Self.transferID(rail: rail, transition: of, reference: event.reference))
        }
        var metadata = event.metadata
        metadata["rail_transition"] = .string(t.name)
        if let parent = event.parentReference { metadata["rail_parent"] = .string(parent) }
        let key = "\(t.name):\(event.reference)"
        guard key.utf8.count <= 256 else { throw RailError(.invalidEvent, "event reference is longer than 256 bytes") }
        return NewTransfer(
            id: try Self.transferID(rail: rail, transition: t.name, reference: event.reference), action, effectiveAt: event.occurredAt,
            metadata: metadata, railReference: .init(rail: rail, reference: key))
    }

    /// `<rail>:<transition>:<reference>`, or, when that does not fit a ledger id, the rail and
    /// transition followed by a SHA-256 of the reference (the rail reference keeps it whole).
    public static func transferID(rail: String, transition: String, reference: String) throws(RailError) -> TransferID {
        if let id = try? TransferID("\(rail):\(transition):\(reference)") { return id }
        let digest = SHA256.hash(data: Array(reference.utf8)).prefix(20).lowercaseHex
        do {
            return try TransferID("\(rail):\(transition):h\(digest)")
        } catch {
            throw RailError(.invalidEvent, "transition name \(transition.debugDescription) can't be part of a transfer id")
        }
    }

    static func accountID(_ template: String, asset: AssetID, bindings: [String: String]) throws(RailError) -> AccountID {
        var text = template.replacingOccurrences(of: "{asset}", with: asset.rawValue)
        while let open = text.firstIndex(of: "{"), let close = text[open...].firstIndex(of: "}") {
            let name = String(text[text.index(after: open)..<close])
            guard let value = bindings[name] else {
                throw RailError(.missingBinding, "account \(template) needs a value for {\(name)}")
            }
            text.replaceSubrange(open...close, with: value)
        }
        do {
            return try AccountID(text)
        } catch {
            throw RailError(.invalidEvent, "account \(text.debugDescription) from template \(template) is not a valid account id")
        }
    }
}
