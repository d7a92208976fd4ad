import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import NIOCore
import Reconciliation
import Timestamps

/// The routes of the ledger API v1 and the service routes, with the scope each one needs.
public struct LedgerRoutes: Sendable {
    /// One route: what the OpenAPI document must describe, and who may call it.
    public struct Route: Sendable, Hashable, CustomStringConvertible {
        public var method: String
        public var path: String
        /// `public`, `read`, `write` or `admin`.
        public var scope: String
        public var description: String { "\(method) \(path) (\(scope))" }
    }

    public let ledger: PostgresLedger
    public let commit: GroupCommit
    public let reads: BalanceReads
    public let keys: APIKeyStore
    public let maxBodyBytes: Int
    public let metrics: APIMetrics
    public let webhooks: WebhookReceiver?

    public init(
        ledger: PostgresLedger, commit: GroupCommit, reads: BalanceReads, keys: APIKeyStore, maxBodyBytes: Int, metrics: APIMetrics,
        webhooks: WebhookReceiver? = nil
    ) {
        self.ledger = ledger
        self.commit = commit
        self.reads = reads
        self.keys = keys
        self.maxBodyBytes = maxBodyBytes
        self.metrics = metrics
        self.webhooks = webhooks
    }

    /// The router with every route, and the table of routes it serves.
    public func router() -> (Router<APIRequestContext>, [Route]) {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: RequestMiddleware())
        var table: [Route] = []

        func add(
            _ router: some RouterMethods<APIRequestContext>, _ method: HTTPRequest.Method, _ prefix: String, _ path: String,
            _ scope: APIKey.Scope?, _ handler: @escaping @Sendable (Request, APIRequestContext) async throws -> Response
        ) {
            table.append(Route(method: method.rawValue, path: prefix + path, scope: scope?.rawValue ?? "public"))
            router.on(RouterPath(path), method: method) { request, context in
                if let scope { _ = try context.require(scope) }
                return try await handler(request, context)
            }
        }

        add(router, .get, "", "/healthz", nil) { _, _ in try APIJSON.response(["status": "ok"]) }
        add(router, .get, "", "/readyz", nil) { _, _ in try await ready() }
        add(router, .get, "", "/openapi.json", nil) { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_json)))
        }
        add(router, .get, "", "/metrics", nil) { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }

        // Outside the key-checked group: the rail verifies the sender's signature instead.
        add(router, .post, "", "/v1/rails/{id}/webhooks", nil) { request, context in try await webhook(request, context) }

        let v1 = router.group("/v1").add(middleware: AuthMiddleware(keys: keys))
        add(v1, .post, "/v1", "/assets", .admin) { request, context in try await createAsset(request, context) }
        add(v1, .get, "/v1", "/assets", .read) { _, _ in
            try APIJSON.response(ItemsWire(items: try await ledger.assets().map(AssetWire.init)))
        }
        add(v1, .post, "/v1", "/accounts", .write) { request, context in try await createAccount(request, context) }
        add(v1, .get, "/v1", "/accounts/{id}", .read) { _, context in
            let id = try accountID(context)
            guard let account = try await ledger.account(id) else { throw APIError(.notFound, .notFound, "account \(id) does not exist") }
            return try APIJSON.response(AccountWire(account))
        }
        add(v1, .get, "/v1", "/accounts/{id}/balance", .read) { request, context in
            let id = try accountID(context)
            var at: Date?
            if let text = request.uri.queryParameters["at"] {
                guard let date = RFC3339.date(from: String(text)) else {
                    throw APIError(.invalidQuery, .badRequest, "at must be an RFC 3339 time, e.g. 2026-11-25T10:00:00Z")
                }
                at = date
            }
            do {
                let balance = if let at { try await ledger.balance(of: id, asOf: at) } else { try await reads.balance(of: id) }
                return APIJSON.response(json: BalanceWire(balance: balance).json)
            } catch let error as LedgerError where error.code == .accountNotFound {
                throw APIError(.notFound, .notFound, error.message)
            }
        }
        add(v1, .get, "/v1", "/balances", .read) { request, context in
            guard let prefix = request.uri.queryParameters["prefix"].map(String.init), !prefix.isEmpty else {
                throw APIError(.invalidQuery, .badRequest, "prefix is required, e.g. ?prefix=merchant:acme:")
            }
            try context.requireAccess(to: prefix)
            var at: Date?
            if let text = request.uri.queryParameters["at"] {
                guard let date = RFC3339.date(from: String(text)) else {
                    throw APIError(.invalidQuery, .badRequest, "at must be an RFC 3339 time, e.g. 2026-11-25T10:00:00Z")
                }
                at = date
            }
            let rollUps = try await ledger.rollUp(prefix: prefix, asOf: at)
            return try APIJSON.response(RollUpWire(prefix: prefix, at: at, items: rollUps.map(RollUpWire.Item.init)))
        }
        add(v1, .get, "/v1", "/accounts/{id}/entries", .read) { request, context in
            let id = try accountID(context)
            var limit = 100
            if let text = request.uri.queryParameters["limit"] {
                guard let n = Int(String(text)), (1...1_000).contains(n) else {
                    throw APIError(.invalidQuery, .badRequest, "limit must be an integer from 1 to 1000")
                }
                limit = n
            }
            let cursor = request.uri.queryParameters["cursor"].map(String.init)
            do {
                let page = try await ledger.entries(of: id, limit: limit, cursor: cursor)
                return try APIJSON.response(EntryPageWire(items: page.items.map(EntryWire.init), nextCursor: page.nextCursor))
            } catch let error as LedgerError where error.code == .accountNotFound {
                throw APIError(.notFound, .notFound, error.message)
            }
        }
        add(v1, .post, "/v1", "/transfers", .write) { request, context in
            let body = try await body(request)
            let transfer = try body.withUnsafeReadableBytes(NewTransfer.init(plainJSON:)) ?? APIJSON.decode(NewTransfer.self, from: body)
            try requireAccess(to: transfer, context)
            return try respond(transfer.id, try await commit.post(transfer, authority: authority(context)))
        }
        add(v1, .post, "/v1", "/transfers/batch", .write) { request, context in
            let batch = try APIJSON.decode(BatchRequestWire.self, from: try await body(request))
            guard !batch.transfers.isEmpty else { throw APIError(.invalidRequest, .badRequest, "transfers must not be empty") }
            guard batch.transfers.count <= PostgresLedger.maxBatchSize else {
                throw APIError(
                    LedgerError(
                        .batchTooLarge, "a batch takes at most \(PostgresLedger.maxBatchSize) transfers, got \(batch.transfers.count)"))
            }
            for transfer in batch.transfers { try requireAccess(to: transfer, context) }
            // An item that breaks a constraint of the document (a zero amount, NUL in metadata, a
            // rail reference too long) makes the request malformed, as an item that does not decode
            // does: 400 for the batch. Per-item results are for transfers the ledger refuses.
            for transfer in batch.transfers {
                do throws(LedgerError) { try transfer.validate() } catch {
                    if APIError.status(of: error.code) == .badRequest {
                        throw APIError(error, extra: ["transfer_id": transfer.id.rawValue])
                    }
                }
            }
            let results = try await ledger.post(batch.transfers, atomic: batch.atomic, authority: authority(context))
            return try APIJSON.response(
                BatchResponseWire(results: zip(batch.transfers, results).map { TransferResultWire(id: $0.id, result: $1) }))
        }
        add(v1, .get, "/v1", "/transfers/{id}", .read) { _, context in
            let id = try transferID(context)
            guard let transfer = try await ledger.transfer(id), covers(transfer, context) else {
                throw APIError(.notFound, .notFound, "transfer \(id) does not exist")
            }
            return try APIJSON.response(TransferWire(transfer: transfer))
        }
        add(v1, .post, "/v1", "/transfers/{id}/post", .write) { request, context in
            try await resolve(request, context, suffix: "post", takesAmount: true) { .postHold($0, amount: $1) }
        }
        add(v1, .post, "/v1", "/transfers/{id}/void", .write) { request, context in
            try await resolve(request, context, suffix: "void", takesAmount: false) { id, _ in .voidHold(id) }
        }
        add(v1, .post, "/v1", "/transfers/{id}/reverse", .write) { request, context in
            try await resolve(request, context, suffix: "reverse", takesAmount: false) { id, _ in .reverse(id) }
        }
        let events = EventRoutes(ledger: ledger)
        add(v1, .get, "/v1", "/events", .read) { request, context in try await events.events(request, context) }
        add(v1, .post, "/v1", "/monitors", .write) { request, context in
            try await events.createMonitor(request, context, body: try await body(request))
        }
        add(v1, .get, "/v1", "/monitors", .read) { request, context in try await events.monitors(request, context) }
        add(v1, .get, "/v1", "/monitors/{id}", .read) { _, context in try await events.monitor(try pathID(context), context) }
        add(v1, .delete, "/v1", "/monitors/{id}", .write) { _, context in try await events.deleteMonitor(try pathID(context), context) }
        add(v1, .post, "/v1", "/webhook_endpoints", .write) { request, context in
            try await events.createWebhookEndpoint(context, body: try await body(request))
        }
        add(v1, .get, "/v1", "/webhook_endpoints", .read) { _, context in try await events.webhookEndpoints(context) }
        add(v1, .delete, "/v1", "/webhook_endpoints/{id}", .write) { _, context in
            try await events.deleteWebhookEndpoint(try pathID(context), context)
        }
        let reconciliation = ReconciliationRoutes(store: ReconciliationStore(ledger: ledger))
        add(v1, .get, "/v1", "/reconciliation/runs", .read) { request, _ in try await reconciliation.runs(request) }
        add(v1, .get, "/v1", "/reconciliation/runs/{id}", .read) { _, context in try await reconciliation.run(try pathID(context)) }
        add(v1, .get, "/v1", "/reconciliation/breaks", .read) { request, _ in try await reconciliation.breaks(request) }
        return (router, table)
    }

    // MARK: - Handlers

    private func ready() async throws -> Response {
        let current: Bool
        do {
            current = try await ledger.schemaIsCurrent()
        } catch {
            throw APIError(.databaseUnavailable, .serviceUnavailable, "the database is unreachable: \(error.message)")
        }
        guard current else { throw APIError(.notReady, .serviceUnavailable, "the database schema is not current: run `settle migrate`") }
        return try APIJSON.response(["status": "ready"])
    }

    private func webhook(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let rail = try pathID(context)
        guard let webhooks else { throw APIError(.notFound, .notFound, "no rail \(rail) takes webhooks here") }
        let body = try await body(request)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let outcome: WebhookReceiver.Outcome
        do throws(WebhookReceiver.Failure) {
            outcome = try await webhooks.take(rail, headers, Array(buffer: body))
        } catch {
            switch error {
            case .unknownRail(let id): throw APIError(.notFound, .notFound, "no rail \(id) takes webhooks here")
            case .invalid(let code, let message): throw APIError(.init(code), .badRequest, message)
            case .retryLater(let code, let message): throw APIError(.init(code), .conflict, message)
            case .unavailable(let code, let message): throw APIError(.init(code), .serviceUnavailable, message)
            }
        }
        return try APIJSON.response(["status": outcome == .booked ? "booked" : "duplicate"])
    }

    private func createAsset(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let wire = try APIJSON.decode(AssetWire.self, from: try await body(request))
        if let key = context.key, key.accountPrefix != nil {
            throw APIError(
                .forbiddenAccount, .forbidden, "assets are shared by every account: a key limited to an account prefix can't create them")
        }
        return try created(try await ledger.createAssets([wire.asset])[0], wire)
    }

    private func createAccount(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let wire = try APIJSON.decode(AccountWire.self, from: try await body(request))
        try context.requireAccess(to: wire.account.id.rawValue)
        let result = try await ledger.createAccounts([wire.account])[0]
        if case .rejected = result { return try created(result, wire) }
        // Answer with the account as stored, so that `created_at` is there.
        guard let stored = try await ledger.account(wire.account.id) else { return try created(result, wire) }
        return try created(result, AccountWire(stored))
    }

    private func created(_ result: CreateResult, _ body: some Encodable) throws -> Response {
        switch result {
        case .created: return try APIJSON.response(body, status: .created)
        case .exists: return try APIJSON.response(body, status: .ok)
        case .rejected(let error): throw APIError(error)
        }
    }

    /// `POST /v1/transfers/{id}/post|void|reverse`: a transfer whose id defaults to `<id>:<suffix>`.
    private func resolve(
        _ request: Request, _ context: APIRequestContext, suffix: String, takesAmount: Bool,
        _ action: (TransferID, UInt256?) -> NewTransfer.Action
    ) async throws -> Response {
        let target = try transferID(context)
        let buffer = try await body(request)
        let wire =
            buffer.readableBytes == 0
            ? ResolveRequestWire()
            : try APIJSON.decode(ResolveRequestWire.self, from: buffer, userInfo: [.takesAmount: takesAmount])
        let id: TransferID
        if let given = wire.id {
            id = given
        } else {
            do { id = try TransferID("\(target.rawValue):\(suffix)") } catch {
                throw APIError(.invalidRequest, .badRequest, "the default id \(target.rawValue):\(suffix) is too long: send an id")
            }
        }
        let transfer = NewTransfer(id: id, action(target, wire.amount), effectiveAt: wire.effectiveAt, metadata: wire.metadata)
        let result = try await commit.post(transfer, authority: authority(context))
        if let error = result.error, [.pendingTransferNotFound, .transferNotFound].contains(error.code) {
            throw APIError(.notFound, .notFound, "transfer \(target) does not exist", extra: ["transfer_id": id.rawValue])
        }
        return try respond(id, result)
    }

    private func respond(_ id: TransferID, _ result: TransferResult) throws -> Response {
        let wire = TransferResultWire(id: id, result: result)
        switch result {
        case .created: return APIJSON.response(json: wire.json!, status: .created)
        case .exists: return APIJSON.response(json: wire.json!, status: .ok)
        case .rejected(let error): throw APIError(error, extra: ["transfer_id": id.rawValue])
        }
    }

    // MARK: - Access

    /// Who posts, checked by the posting function in the call that posts (decision 0012): the key's
    /// account prefix covers every account the transfer touches, through its postings or the
    /// transfer it resolves, and no key writes the rails' namespace. A check here, before the
    /// call, could be raced: the transfer to resolve may not exist yet when it is looked up.
    private func authority(_ context: APIRequestContext) -> PostingAuthority {
        .apiKey(accountPrefix: context.key?.accountPrefix)
    }

    /// The accounts a request names itself, refused as a whole before anything is posted (what
    /// the transfers resolve is the posting function's to check).
    private func requireAccess(to transfer: NewTransfer, _ context: APIRequestContext) throws(APIError) {
        switch transfer.action {
        case .post(let postings), .hold(let postings, _):
            for posting in postings { try context.requireAccess(to: posting.account.rawValue) }
        case .balancing(let from, let to, _), .balancingHold(let from, let to, _, _):
            try context.requireAccess(to: from.rawValue)
            try context.requireAccess(to: to.rawValue)
        case .postHold, .voidHold, .reverse: break
        }
    }

    private func covers(_ transfer: Transfer, _ context: APIRequestContext) -> Bool {
        guard let key = context.key else { return true }
        return transfer.lines.allSatisfy { key.covers($0.account.rawValue) }
    }

    private func accountID(_ context: APIRequestContext) throws -> AccountID {
        let id = try AccountID(try pathID(context))
        try context.requireAccess(to: id.rawValue)
        return id
    }

    private func transferID(_ context: APIRequestContext) throws -> TransferID {
        try TransferID(try pathID(context))
    }

    /// The `{id}` of the path, percent-decoded: ids may hold `/`, sent as `%2F`.
    private func pathID(_ context: APIRequestContext) throws -> String {
        let raw = try context.parameters.require("id")
        return Self.percentDecoded(raw) ?? raw
    }

    /// `text` with its `%XX` escapes decoded; nil if an escape is malformed or the bytes are not
    /// UTF-8 (as Foundation's `removingPercentEncoding`, which costs a twentieth of a balance read).
    static func percentDecoded(_ text: String) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        let input = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var i = 0
        while i < input.count {
            if input[i] == UInt8(ascii: "%") {
                guard i + 2 < input.count, let high = digit(input[i + 1]), let low = digit(input[i + 2]) else { return nil }
                output.append(high << 4 | low)
                i += 3
            } else {
                output.append(input[i])
                i += 1
            }
        }
        return String(validating: output, as: UTF8.self)
    }

    private func body(_ request: Request) async throws -> ByteBuffer {
        try await request.body.collect(upTo: maxBodyBytes)
    }
}
