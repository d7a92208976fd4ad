import Foundation
import Logging
import PostgresNIO

/// A paid response kept for a retry with the same `payment-identifier`.
public struct StoredResponse: Sendable, Hashable, Codable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// What claiming a payment for serving found.
public enum ClaimOutcome: Sendable, Hashable {
    /// This request serves it; `resumed` when it takes over a claim whose request died before
    /// answering (the payment may already be settled: settle, don't verify).
    case claimed(resumed: Bool)
    /// The payment-identifier was answered before with this same payload.
    case cached(StoredResponse)
    /// The payment-identifier was used with another payload.
    case conflict
    /// Another request is serving this payment now.
    case busy
    /// The payment was served already; this is a replay.
    case alreadyServed
}

/// Which payments a resource server served (`settle.x402_responses`): one payment is served
/// once, and a retry with the same payment-identifier and payload gets the stored response.
public struct X402ResponseStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger = Logger(label: "settle.x402.server")) {
        self.client = client
        self.logger = logger
    }

    /// Claims `key` for serving.
    public func claim(key: String, paymentID: String?, requestHash: [UInt8], lease: Duration) async throws -> ClaimOutcome {
        let hash = X402SettlementStore.hex(requestHash)
        if let paymentID {
            let rows = try await client.query(
                """
                select encode(request_hash, 'hex'), state, status, headers::text, encode(body, 'hex')
                from settle.x402_responses where payment_id = \(paymentID)
                """, logger: logger)
            for try await (storedHash, state, status, headers, body) in rows.decode((String, String, Int?, String?, String?).self) {
                guard storedHash == hash else { return .conflict }
                if state == "served", let status, let headers, let body,
                    let fields = try? JSONDecoder().decode([String: String].self, from: Data(headers.utf8))
                {
                    return .cached(StoredResponse(status: status, headers: fields, body: X402SettlementStore.bytes(hex: body)))
                }
            }
        }
        let leaseSeconds = Double(lease.components.seconds)
        do {
            let rows = try await client.query(
                """
                insert into settle.x402_responses as r (payment_key, payment_id, request_hash, state)
                values (\(key), \(paymentID), decode(\(hash), 'hex'), 'serving')
                on conflict (payment_key) do update set claimed_at = now(), payment_id = excluded.payment_id
                where r.state = 'serving' and r.request_hash = excluded.request_hash
                  and r.claimed_at < now() - make_interval(secs => \(leaseSeconds))
                returning (xmax <> 0)
                """, logger: logger)
            for try await resumed in rows.decode(Bool.self) { return .claimed(resumed: resumed) }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            return .conflict
        }
        let rows = try await client.query("select state from settle.x402_responses where payment_key = \(key)", logger: logger)
        for try await state in rows.decode(String.self) { return state == "served" ? .alreadyServed : .busy }
        return .busy
    }

    /// Gives up a claim: the payment was not served (refused, pending, or the handler failed).
    public func release(key: String) async throws {
        try await client.query("delete from settle.x402_responses where payment_key = \(key) and state = 'serving'", logger: logger)
    }

    /// Records that the payment was served, with the response when it is to be replayed.
    public func served(key: String, response: StoredResponse?) async throws {
        let headers = response.map { String(decoding: X402HeaderCodec.json($0.headers), as: UTF8.self) }
        let body = response.map { X402SettlementStore.hex($0.body) }
        try await client.query(
            """
            update settle.x402_responses
            set state = 'served', status = \(response?.status), headers = \(headers)::jsonb, body = decode(\(body), 'hex'), served_at = now()
            where payment_key = \(key)
            """, logger: logger)
    }
}
