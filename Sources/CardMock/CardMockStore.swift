import Crypto
import Foundation
import HTTPTypes
import Logging

/// Who made the request being executed: stamped on the events it causes.
struct RequestInfo: Sendable {
    var requestID: String?
    var idempotencyKey: String?
    var apiVersion: String?
}

/// The answer of the store to one request, before the journal is synced.
struct StoreResponse: Sendable {
    var status: Int
    var body: Data
    var replayed = false
    /// Journal group to sync before answering; 0 when nothing changed.
    var sequence: UInt64 = 0
}

/// The mock's state and every operation on it. One actor, so each request's mutation is atomic:
/// it runs without suspension and appends one journal line with all it changed.
actor CardMockStore {
    var state: MockState
    let journal: Journal
    let configuration: CardMockConfiguration
    let logger: Logger
    /// Records changed by the running operation; one journal line at commit.
    var dirty: [JournalRecord] = []
    /// The request being executed, for events' `request` and `api_version`.
    var request: RequestInfo?
    /// While due work runs, the mock time it runs at (earlier than the clock during an advance).
    var processingAt: Int64?
    /// Idempotency scope → journal group of its first answer; until durable, a reuse is a 409.
    var unsyncedKeys: [String: UInt64] = [:]
    /// Deliveries an attempt is running for.
    var deliveriesInFlight: Set<String> = []

    /// Opens the data directory (or memory) and rebuilds the state from the journal.
    init(configuration: CardMockConfiguration, logger: Logger) throws {
        let wall = Int64(Date().timeIntervalSince1970)
        let initial = MockState(
            clock: MockClock(offset: 0, nextPayoutAt: Self.nextPayoutTime(after: wall, hour: configuration.payoutHourUTC)),
            fees: configuration.feeSchedule)
        var loaded = initial
        if let directory = configuration.dataDirectory {
            journal = try Journal.open(directory: directory) { groups in
                for group in groups { for record in group { loaded.apply(record) } }
                return loaded.snapshot
            }
        } else {
            journal = .inMemory()
        }
        self.state = loaded
        self.configuration = configuration
        self.logger = logger
    }

    /// The first daily payout time strictly after `time`.
    static func nextPayoutTime(after time: Int64, hour: Int64) -> Int64 {
        let candidate = time - time % 86_400 + hour * 3_600
        return candidate > time ? candidate : candidate + 86_400
    }

    // MARK: Time and ids

    var wallSeconds: Int64 { Int64(Date().timeIntervalSince1970) }
    var wallMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }

    /// Mock time in Unix seconds.
    var now: Int64 { processingAt ?? wallSeconds + state.clock.offset }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// `pi_` + 24 random base-62 characters, drawn from one 64-bit value per ten characters rather
    /// than one system call per character.
    nonisolated static func newID(_ prefix: String, length: Int = 24) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        var pool: UInt64 = 0
        for index in 0..<length {
            if index % 10 == 0 { pool = generator.next() }
            bytes.append(alphabet[Int(pool % 62)])
            pool /= 62
        }
        return prefix + "_" + String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Changes

    /// Applies a change and queues it for the journal.
    func put(_ record: JournalRecord) {
        state.apply(record)
        dirty.append(record)
    }

    /// Appends the running operation's changes as one journal group.
    func commit() -> UInt64 {
        guard !dirty.isEmpty else { return 0 }
        defer { dirty = [] }
        do {
            return try journal.append(dirty)
        } catch {
            // Encoding our own Codable values does not fail; if it ever does, say so loudly.
            logger.critical("cannot journal a change", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Records an event and queues its deliveries to every endpoint that takes its type.
    func emit(_ type: String, _ object: JSON, previous: JSON? = nil) {
        let endpoints = state.webhookEndpoints.values.filter { $0.accepts(type) }.sorted { $0.created < $1.created }
        let event = Event(
            id: Self.newID("evt"), created: now, type: type, apiVersion: request?.apiVersion ?? configuration.defaultAPIVersion,
            object: object, previousAttributes: previous, requestID: request?.requestID, idempotencyKey: request?.idempotencyKey,
            pendingWebhooks: Int64(endpoints.count))
        put(.event(event))
        for endpoint in endpoints {
            put(
                .delivery(
                    WebhookDelivery(
                        id: Self.newID("whd"), event: event.id, endpoint: endpoint.id, status: "pending", nextAttemptAtMs: wallMilliseconds)
                ))
        }
    }

    /// `*.updated`-style event whose `previous_attributes` are the top-level fields that changed.
    func emitChange(_ type: String, before: JSON, after: JSON) {
        guard case .object(let old) = before, case .object(let new) = after else { return emit(type, after) }
        var previous: [String: JSON] = [:]
        for (key, value) in old where new[key] != value { previous[key] = value }
        emit(type, after, previous: .object(previous))
    }

    // MARK: Executing requests

    /// Runs one API or helper operation: idempotency for POSTs, the operation, `expand`, one journal
    /// group for everything it changed.
    func execute(
        _ operation: Operation, params: [String: FormValue], method: HTTPRequest.Method, path: String, apiKey: String,
        info: RequestInfo
    ) -> StoreResponse {
        var scope: String?
        var hash = ""
        if method == .post, let key = info.idempotencyKey, !key.isEmpty {
            let id = apiKey + "\u{0}" + key
            hash = SHA256.hash(data: Data((path + "?" + FormValue.map(params).canonical).utf8)).map { String(format: "%02x", $0) }.joined()
            if let record = state.idempotency[id], record.created + 86_400 > now {
                if let sequence = unsyncedKeys[id], !journal.isDurable(sequence) {
                    return Self.errorResponse(
                        StripeError(
                            status: .conflict, type: "idempotency_error", code: "idempotency_key_in_use",
                            message:
                                "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): \(key). Please try again later."
                        ))
                }
                guard record.method == method.rawValue, record.path == path else {
                    return Self.errorResponse(
                        StripeError(
                            status: .badRequest, type: "idempotency_error",
                            message:
                                "Keys for idempotent requests can only be used for the same endpoint they were first used for ('\(record.method) \(record.path)' vs '\(method.rawValue) \(path)'). Try using a key other than '\(key)' if you meant to execute a different request."
                        ))
                }
                guard record.paramsHash == hash else {
                    return Self.errorResponse(
                        StripeError(
                            status: .badRequest, type: "idempotency_error",
                            message:
                                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '\(key)' if you meant to execute a different request."
                        ))
                }
                return StoreResponse(
                    status: record.status, body: Data(record.body.utf8), replayed: true, sequence: unsyncedKeys[id] ?? 0)
            }
            scope = id
        }
        request = info
        defer { request = nil }
        var response: StoreResponse
        var stored = true
        do {
            var params = Params(params)
            let paths = try params.expand()
            let result = try run(operation, &params)
            response = StoreResponse(status: 200, body: expand(result, paths: paths).encoded())
        } catch {
            stored = error.isStored
            response = Self.errorResponse(error)
        }
        if let scope, stored {
            put(
                .idempotency(
                    IdempotencyRecord(
                        scope: scope, method: method.rawValue, path: path, paramsHash: hash, status: response.status,
                        body: String(decoding: response.body, as: UTF8.self), created: now)))
        }
        response.sequence = commit()
        if let scope, stored { unsyncedKeys[scope] = response.sequence }
        return response
    }

    static func errorResponse(_ error: StripeError) -> StoreResponse {
        StoreResponse(status: Int(error.status.code), body: error.json.encoded())
    }

    /// Drops idempotency records older than 24 hours of mock time and forgets synced in-flight keys.
    func pruneIdempotency() {
        let cutoff = now - 86_400
        for (scope, record) in state.idempotency where record.created <= cutoff { put(.idempotencyPruned(scope)) }
        unsyncedKeys = unsyncedKeys.filter { !journal.isDurable($0.value) }
    }

    /// Syncs the journal and releases the data directory.
    func close() async {
        await journal.close()
    }
}
