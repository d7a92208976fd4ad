extension NewTransfer {
    /// What an account must be like just before a transfer applies: the ``Balance/version`` and
    /// or the ``Balance/available`` amount the client last read, and or bounds on the available
    /// amount (at least, at most; decision 0043). Checked under the account's lock in the write
    /// path; a transfer whose condition fails is rejected with
    /// ``LedgerError/Code/versionMismatch`` or ``LedgerError/Code/balanceMismatch`` and writes
    /// nothing. Every part given must hold.
    ///
    /// JSON: `{"account": "agent:7", "version": 12, "available": "1500"}` or
    /// `{"account": "agent:7", "available_gte": "100", "available_lte": "5000"}` (at least one of
    /// `version`, `available`, `available_gte`, `available_lte`).
    public struct Condition: Sendable, Hashable, Codable {
        public var account: AccountID
        /// The account's version (how many entries it has) must be exactly this.
        public var version: Int64?
        /// The account's available balance must be exactly this.
        public var available: SignedAmount?
        /// The account's available balance must be at least this (`available_gte`).
        public var availableAtLeast: SignedAmount?
        /// The account's available balance must be at most this (`available_lte`).
        public var availableAtMost: SignedAmount?

        public init(
            account: AccountID, version: Int64? = nil, available: SignedAmount? = nil, availableAtLeast: SignedAmount? = nil,
            availableAtMost: SignedAmount? = nil
        ) {
            self.account = account
            self.version = version
            self.available = available
            self.availableAtLeast = availableAtLeast
            self.availableAtMost = availableAtMost
        }

        /// Whether the condition compares anything.
        var isEmpty: Bool { version == nil && available == nil && availableAtLeast == nil && availableAtMost == nil }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case account, version, available
            case availableAtLeast = "available_gte"
            case availableAtMost = "available_lte"
        }

        public func encode(to encoder: any Encoder) throws {
            var k = encoder.container(keyedBy: CodingKeys.self)
            try k.encode(account, forKey: .account)
            try k.encodeIfPresent(version, forKey: .version)
            try k.encodeIfPresent(available, forKey: .available)
            try k.encodeIfPresent(availableAtLeast, forKey: .availableAtLeast)
            try k.encodeIfPresent(availableAtMost, forKey: .availableAtMost)
        }

        /// Strict like ``NewTransfer``: a misspelt field is an error, not an ignored condition.
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let k = try decoder.container(keyedBy: CodingKeys.self)
            let version = try k.decodeUnlessAbsent(Int64.self, forKey: .version)
            // A request out of the documented range is malformed, not a refused transfer.
            if let version, version < 0 {
                throw DecodingError.dataCorruptedError(forKey: .version, in: k, debugDescription: "a version is 0 or more")
            }
            self.init(
                account: try k.decode(AccountID.self, forKey: .account), version: version,
                available: try k.decodeUnlessAbsent(SignedAmount.self, forKey: .available),
                availableAtLeast: try k.decodeUnlessAbsent(SignedAmount.self, forKey: .availableAtLeast),
                availableAtMost: try k.decodeUnlessAbsent(SignedAmount.self, forKey: .availableAtMost))
            guard !isEmpty else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "a condition needs a version, an available amount or a bound on it"))
            }
        }
    }

    /// Conditions name accounts the transfer posts to, once each, with something to compare.
    func validateConditions() throws(LedgerError) {
        guard !conditions.isEmpty else { return }
        let accounts: Set<AccountID>
        switch action {
        case .post(let postings), .hold(let postings, _): accounts = Set(postings.map(\.account))
        case .balancing(let from, let to, _), .balancingHold(let from, let to, _, _): accounts = [from, to]
        case .postHold, .voidHold, .reverse:
            throw LedgerError(
                .invalidCondition, "transfer \(id): only a transfer with its own postings (post, hold, balancing) takes conditions")
        }
        var seen: Set<AccountID> = []
        for condition in conditions {
            guard accounts.contains(condition.account) else {
                throw LedgerError(
                    .invalidCondition, "transfer \(id): condition on \(condition.account), which the transfer does not post to")
            }
            guard seen.insert(condition.account).inserted else {
                throw LedgerError(.invalidCondition, "transfer \(id): more than one condition on \(condition.account)")
            }
            guard !condition.isEmpty else {
                throw LedgerError(
                    .invalidCondition,
                    "transfer \(id): the condition on \(condition.account) needs a version, an available amount or a bound on it")
            }
            if let low = condition.availableAtLeast, let high = condition.availableAtMost, high < low {
                throw LedgerError(
                    .invalidCondition, "transfer \(id): the condition on \(condition.account) asks for at least \(low) and at most \(high)")
            }
            if let version = condition.version, version < 0 {
                throw LedgerError(.invalidCondition, "transfer \(id): a version is 0 or more")
            }
        }
    }
}
