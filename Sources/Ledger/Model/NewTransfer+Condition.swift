extension NewTransfer {
    /// What an account must be like just before a transfer applies: the ``Balance/version`` and
    /// or the ``Balance/available`` amount the client last read. Checked under the account's lock
    /// in the write path; a transfer whose condition fails is rejected with
    /// ``LedgerError/Code/versionMismatch`` or ``LedgerError/Code/balanceMismatch`` and writes
    /// nothing.
    ///
    /// JSON: `{"account": "agent:7", "version": 12, "available": "1500"}` (either or both of
    /// `version` and `available`).
    public struct Condition: Sendable, Hashable, Codable {
        public var account: AccountID
        /// The account's version (how many entries it has) must be exactly this.
        public var version: Int64?
        /// The account's available balance must be exactly this.
        public var available: SignedAmount?

        public init(account: AccountID, version: Int64? = nil, available: SignedAmount? = nil) {
            self.account = account
            self.version = version
            self.available = available
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case account, version, available
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
            let available = try k.decodeUnlessAbsent(SignedAmount.self, forKey: .available)
            guard version != nil || available != nil else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "a condition needs a version or an available amount"))
            }
            self.init(account: try k.decode(AccountID.self, forKey: .account), version: version, available: available)
        }
    }

    /// Conditions name accounts the transfer posts to, once each, with something to compare.
    func validateConditions() throws(LedgerError) {
        guard !conditions.isEmpty else { return }
        let accounts: Set<AccountID>
        switch action {
        case .post(let postings), .hold(let postings, _): accounts = Set(postings.map(\.account))
        case .balancing(let from, let to, _): accounts = [from, to]
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
            guard condition.version != nil || condition.available != nil else {
                throw LedgerError(
                    .invalidCondition, "transfer \(id): the condition on \(condition.account) needs a version or an available amount")
            }
            if let version = condition.version, version < 0 {
                throw LedgerError(.invalidCondition, "transfer \(id): a version is 0 or more")
            }
        }
    }
}
