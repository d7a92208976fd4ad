/// An error of the ledger: a stable machine ``Code`` plus a human message.
///
/// Codes are part of the API (they are returned per item by batch posting and by the HTTP API), so
/// they never change once published. New codes may be added: switch over them with a default.
public struct LedgerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case machine code.
    public struct Code: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        /// The machine code, e.g. `exceeds_credits`.
        public let rawValue: String

        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        // Input that cannot be parsed or is out of range; detected before anything is sent.
        public static let malformedID: Code = "malformed_id"
        public static let invalidAmount: Code = "invalid_amount"
        public static let amountMustBePositive: Code = "amount_must_be_positive"
        public static let invalidAsset: Code = "invalid_asset"
        public static let invalidAccount: Code = "invalid_account"
        public static let invalidMetadata: Code = "invalid_metadata"
        public static let invalidTimeout: Code = "invalid_timeout"
        public static let invalidRailReference: Code = "invalid_rail_reference"
        /// A value the database cannot store (its data exception, SQLSTATE class 22), caught there
        /// because no check before it knew to refuse it.
        public static let invalidInput: Code = "invalid_input"
        public static let batchTooLarge: Code = "batch_too_large"
        public static let invalidCursor: Code = "invalid_cursor"

        // Idempotency.
        public static let existsWithDifferentFields: Code = "exists_with_different_fields"
        public static let railReferenceExists: Code = "rail_reference_exists"

        // Accounts and assets.
        public static let assetNotFound: Code = "asset_not_found"
        public static let accountNotFound: Code = "account_not_found"
        public static let externalIDExists: Code = "external_id_exists"
        public static let accountClosed: Code = "account_closed"

        // Shape of a transfer.
        public static let tooFewPostings: Code = "too_few_postings"
        public static let duplicateAccount: Code = "duplicate_account"
        public static let unbalanced: Code = "unbalanced"
        public static let postingsAcrossAssets: Code = "postings_across_assets"
        public static let postingsNotAllowed: Code = "postings_not_allowed"
        public static let amountNotAllowed: Code = "amount_not_allowed"
        public static let timeoutRequiresPending: Code = "timeout_requires_pending"
        public static let parentNotFound: Code = "parent_not_found"
        public static let parentNotAllowed: Code = "parent_not_allowed"

        // Holds (two-phase transfers) and reversals.
        public static let pendingTransferNotFound: Code = "pending_transfer_not_found"
        public static let transferNotPending: Code = "transfer_not_pending"
        public static let pendingTransferAlreadyPosted: Code = "pending_transfer_already_posted"
        public static let pendingTransferAlreadyVoided: Code = "pending_transfer_already_voided"
        public static let pendingTransferExpired: Code = "pending_transfer_expired"
        public static let pendingTransferNotExpired: Code = "pending_transfer_not_expired"
        public static let exceedsPendingAmount: Code = "exceeds_pending_amount"
        public static let partialPostRequiresTwoPostings: Code = "partial_post_requires_two_postings"
        public static let transferNotFound: Code = "transfer_not_found"
        public static let transferNotReversible: Code = "transfer_not_reversible"
        public static let transferAlreadyReversed: Code = "transfer_already_reversed"

        // Authority of the poster (PostingAuthority), checked in the posting call.
        /// A posting names an account outside the poster's account prefix.
        public static let forbiddenAccount: Code = "forbidden_account"
        /// The transfer id or rail reference is in a registered rail's namespace, which only the
        /// rail's own bookings may use.
        public static let reservedNamespace: Code = "reserved_namespace"

        // Limits and arithmetic.
        public static let exceedsCredits: Code = "exceeds_credits"
        public static let exceedsDebits: Code = "exceeds_debits"
        public static let overflow: Code = "overflow"
        public static let atomicBatchFailed: Code = "atomic_batch_failed"
        /// The condition of a write that was to commit with the transfers (``PostingGuard``) did
        /// not hold; nothing was written.
        public static let guardFailed: Code = "guard_failed"

        // Conditional and balancing transfers (decision 0030).
        /// A condition names an account the transfer does not post to, names one twice, compares
        /// nothing, or is on a transfer without postings of its own.
        public static let invalidCondition: Code = "invalid_condition"
        /// An account's version was not the one the transfer's condition requires.
        public static let versionMismatch: Code = "version_mismatch"
        /// An account's available balance was not the one the transfer's condition requires.
        public static let balanceMismatch: Code = "balance_mismatch"
        /// A balancing transfer's source account had nothing available to move.
        public static let nothingAvailable: Code = "nothing_available"
        /// A balancing transfer's destination has a limit on the side it takes that leaves no
        /// room (decision 0043); with some room the amount is clamped to it instead.
        public static let destinationFull: Code = "destination_full"

        // Tamper evidence (decision 0031).
        /// A chain signing or public key could not be read (not 64 hex digits of a raw Ed25519 key).
        public static let invalidChainKey: Code = "invalid_chain_key"
        /// No chain checkpoint has the id asked for.
        public static let checkpointNotFound: Code = "checkpoint_not_found"

        // Events, monitors and webhooks (decision 0039).
        /// An event cursor of the right form names a position beyond the last event: it was not
        /// given by this ledger.
        public static let unknownCursor: Code = "unknown_cursor"
        /// An event cursor below the retention horizon: the events after it were pruned, so reading
        /// on from it would skip them unseen.
        public static let cursorExpired: Code = "cursor_expired"
        /// No balance monitor has this id.
        public static let monitorNotFound: Code = "monitor_not_found"
        /// A monitor's re-arm level is not on the far side of its threshold (above it for `lt`/`lte`,
        /// below it for `gt`/`gte`), decision 0043.
        public static let invalidRearm: Code = "invalid_rearm"
        /// No webhook endpoint has this id.
        public static let webhookEndpointNotFound: Code = "webhook_endpoint_not_found"
        /// A webhook endpoint's URL is not an absolute http(s) URL of at most 2,048 bytes.
        public static let invalidURL: Code = "invalid_url"

        // Operational.
        public static let database: Code = "database_error"
        public static let invalidDatabaseURL: Code = "invalid_database_url"
        public static let schemaOutdated: Code = "schema_outdated"
        public static let migrationChanged: Code = "migration_changed"
        /// The ledger is shutting down and takes no more writes; retry against another instance.
        public static let shuttingDown: Code = "shutting_down"
    }

    /// The machine code.
    public var code: Code
    /// A message for humans; not stable.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The message a rejection code carries when the database reports it without more detail.
    static func rejection(_ code: Code) -> LedgerError {
        LedgerError(code, Self.messages[code.rawValue] ?? "the transfer was rejected (\(code))")
    }

    private static let messages: [String: String] = [
        "exists_with_different_fields": "a transfer with this id exists with different content",
        "rail_reference_exists": "another transfer already carries this rail reference",
        "account_not_found": "a posting names an account that does not exist",
        "account_closed": "a posting names a closed account",
        "too_few_postings": "a transfer needs at least two postings",
        "duplicate_account": "an account appears in more than one posting of the transfer",
        "unbalanced": "debits and credits of the transfer differ",
        "postings_across_assets": "debits and credits do not balance per asset",
        "postings_not_allowed": "posting, voiding, expiring or reversing takes no postings: they come from the parent",
        "amount_not_allowed": "only posting a pending transfer takes an amount",
        "amount_must_be_positive": "amounts must be greater than zero",
        "timeout_requires_pending": "only a pending transfer takes a timeout",
        "invalid_timeout": "the timeout must be a positive number of seconds",
        "invalid_metadata": "metadata must be a JSON object",
        "invalid_rail_reference": "a rail reference needs both the rail and the external reference",
        "parent_not_found": "the parent transfer does not exist",
        "pending_transfer_not_found": "the pending transfer does not exist",
        "transfer_not_pending": "the parent is not a pending transfer",
        "pending_transfer_already_posted": "the pending transfer was already posted",
        "pending_transfer_already_voided": "the pending transfer was already voided",
        "pending_transfer_expired": "the pending transfer has expired",
        "pending_transfer_not_expired": "the pending transfer has not expired yet",
        "exceeds_pending_amount": "the amount exceeds the pending amount",
        "partial_post_requires_two_postings":
            "a partial amount can only be posted for a pending transfer of exactly two postings",
        "transfer_not_found": "the transfer to reverse does not exist",
        "transfer_not_reversible": "only posted transfers can be reversed (void a pending transfer instead)",
        "transfer_already_reversed": "the transfer was already reversed",
        "exceeds_credits": "the transfer would make an account's debits exceed its credits",
        "exceeds_debits": "the transfer would make an account's credits exceed its debits",
        "overflow": "a balance would exceed 2^256-1",
        "atomic_batch_failed": "another transfer of the atomic batch was rejected; nothing was written",
        "invalid_kind": "unknown transfer kind",
        "forbidden_account": "a posting names an account outside the key's account prefix",
        "invalid_condition":
            "a condition must name an account the transfer posts to, once, with a version, an available amount or bounds on it that can hold",
        "version_mismatch": "an account's version is not the one the transfer's condition requires; nothing was written",
        "balance_mismatch":
            "an account's available balance is not what the transfer's condition requires (exactly, at least or at most); nothing was written",
        "nothing_available": "the balancing transfer's source account has nothing available to move",
        "destination_full": "the balancing transfer's destination has no room left under its limit",
        "reserved_namespace":
            "transfer ids <rail>:... and rail references of a registered rail are reserved for that rail's own bookings",
    ]
}
