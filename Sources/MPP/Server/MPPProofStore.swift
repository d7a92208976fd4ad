import Logging
import PostgresNIO

/// Single-use proofs of MPP charges (`settle.mpp_proofs`): a proof (a transaction hash, a shared
/// payment token) and the challenge it answers are reserved together, atomically, before the
/// payment is settled, so concurrent or replayed credentials settle and deliver at most once.
public struct MPPProofStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger = Logger(label: "settle.mpp")) {
        self.client = client
        self.logger = logger
    }

    /// Reserves `proof` for the challenge `challengeID`.
    /// - Throws: ``PaymentProblem/Code/credentialReplayed`` (403) when either was used before;
    ///   ``PaymentProblem/Code/internalPaymentError`` when the database cannot say.
    public func reserve(proof: String, challengeID: String, method: String, intent: String) async throws(PaymentProblem) {
        do {
            try await client.query(
                """
                insert into settle.mpp_proofs (proof, challenge_id, method, intent)
                values (\(proof), \(challengeID), \(method), \(intent))
                """, logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw PaymentProblem(
                .credentialReplayed, detail: "This payment proof or challenge was already used.", challengeId: challengeID)
        } catch {
            logger.error("mpp proof not reserved", metadata: ["error": "\(String(reflecting: error))"])
            throw PaymentProblem(.internalPaymentError, detail: "The payment could not be recorded; nothing was charged.")
        }
    }

    /// Records that the payment with `proof` settled, with its reference.
    public func settled(proof: String, reference: String) async throws {
        try await client.query(
            """
            update settle.mpp_proofs set state = 'settled', reference = \(reference), settled_at = now()
            where proof = \(proof)
            """, logger: logger)
    }

    /// Keeps a reservation whose payment waits for the buyer (a card's 3-D Secure) with the
    /// reference to ask about, so that the same credential, sent again once the buyer acted,
    /// completes it (``awaitingAction(proof:)``) instead of being a replay.
    public func awaitAction(proof: String, reference: String) async throws {
        try await client.query(
            "update settle.mpp_proofs set reference = \(reference) where proof = \(proof) and state = 'reserved'", logger: logger)
    }

    /// The challenge and reference of a reservation kept by ``awaitAction(proof:reference:)``; nil
    /// for any other row, or when the database cannot say (the caller then treats it as a replay).
    public func awaitingAction(proof: String) async -> (challengeID: String, reference: String)? {
        do {
            let rows = try await client.query(
                """
                select challenge_id, reference from settle.mpp_proofs
                where proof = \(proof) and state = 'reserved' and reference is not null
                """, logger: logger)
            for try await row in rows.decode((String, String).self) { return (row.0, row.1) }
        } catch {
            logger.warning("mpp proof not read", metadata: ["proof": "\(proof)", "error": "\(error)"])
        }
        return nil
    }

    /// Gives a reservation back when the payment certainly did not happen (the proof was refused
    /// before anything was broadcast or confirmed), so an honest client can pay the route again.
    public func release(proof: String) async {
        do {
            try await client.query("delete from settle.mpp_proofs where proof = \(proof) and state = 'reserved'", logger: logger)
        } catch {
            // Kept reserved: the client gets a fresh challenge and pays with a new proof.
            logger.warning("mpp proof reservation not released", metadata: ["proof": "\(proof)", "error": "\(error)"])
        }
    }
}
