/// What a pass of the chainer did (``PostgresLedger/advanceChain(maxLinksPerRound:maxAccountsPerRound:)``).
public struct ChainAdvance: Sendable, Hashable, Codable {
    /// Transactions committed, one per round.
    public var rounds = 0
    /// Accounts whose head moved.
    public var accounts = 0
    /// Links written.
    public var links = 0
    /// Accounts the chainer could not chain past a version, each as a line: their entry or its
    /// transfer is missing although the account's version says it exists (removed before it was
    /// chained). The chainer stops there for that account and goes on with the others.
    public var problems: [String] = []

    public init() {}

    mutating func add(_ round: ChainAdvance) {
        rounds += round.rounds
        accounts += round.accounts
        links += round.links
        problems += round.problems
    }
}
