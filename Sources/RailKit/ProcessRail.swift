import Foundation
import Ledger
import Logging

/// A rail that is a separate program, in any language, speaking the JSON-lines protocol of
/// ``RailProtocol`` (`docs/rails.md`) on its standard input and output. Settle launches it,
/// shakes hands, sends one request at a time and supervises it:
///
/// - A request that is not answered within `timeout_ms`, an answer that is not valid JSON, has
///   the wrong id or is longer than the line limit, and a child that exits, all stop the child
///   (SIGTERM to its process group, SIGKILL after `kill_grace_ms`) and fail the call with
///   ``RailError/Code/timeout``, ``RailError/Code/protocolViolation`` or ``RailError/Code/crashed``.
/// - The next call starts a new child, after a backoff that doubles with each restart of the last
///   minute; past `max_restarts_per_minute` restarts, calls fail with ``RailError/Code/crashed``
///   until the minute has passed.
/// - Nothing is lost or duplicated by a crash: a rail's pages are pure functions of the cursor
///   and ``RailBooker`` stores the cursor only after a page is booked, idempotently.
///
/// Settings (``RailConfiguration/settings``; all of them are also sent to the child in hello's
/// `config`, with `id` set to the rail's id):
/// - `command`: the program and its arguments, a list of strings (looked up in `PATH`).
/// - `environment`: extra environment variables, an object of strings.
/// - `timeout_ms` (10,000): how long a request, and the handshake, may take.
/// - `kill_grace_ms` (2,000): between SIGTERM and SIGKILL, and how long ``shutdown()`` waits for
///   the child to exit on its own.
/// - `max_restarts_per_minute` (5) and `restart_backoff_ms` (250, doubling up to 30 s).
/// - `max_line_bytes` (16 MiB): the longest line accepted from the child.
public actor ProcessRail: Rail {
    /// The kind the factory is registered under.
    public static let kind = "process"

    /// Makes process rails for ``RailRegistry``: launches the child and shakes hands.
    public static let factory: RailRegistry.Factory = { configuration, logger throws(RailError) in
        try await ProcessRail.launch(configuration, logger: logger)
    }

    /// The supervisor's settings, read from a ``RailConfiguration``.
    public struct Settings: Sendable, Hashable {
        public var command: [String]
        public var environment: [String: String]
        public var timeout: Duration
        public var killGrace: Duration
        public var maxRestartsPerMinute: Int
        public var restartBackoff: Duration
        public var maxLineBytes: Int

        public init(_ configuration: RailConfiguration) throws(RailError) {
            guard let command = try configuration.strings("command"), !command.isEmpty, !command[0].isEmpty else {
                throw RailError(.invalidConfiguration, "rail \(configuration.id): setting command must be a non-empty list of strings")
            }
            self.command = command
            switch configuration.settings["environment"] {
            case nil, .null?: environment = [:]
            case .object(let values)?:
                var environment: [String: String] = [:]
                for (key, value) in values {
                    guard case .string(let text) = value, !key.isEmpty, !key.contains("=") else {
                        throw RailError(.invalidConfiguration, "rail \(configuration.id): setting environment must map names to strings")
                    }
                    environment[key] = text
                }
                self.environment = environment
            default:
                throw RailError(.invalidConfiguration, "rail \(configuration.id): setting environment must be an object of strings")
            }
            timeout = .milliseconds(try configuration.int("timeout_ms", default: 10_000, in: 1...3_600_000))
            killGrace = .milliseconds(try configuration.int("kill_grace_ms", default: 2_000, in: 0...600_000))
            maxRestartsPerMinute = try configuration.int("max_restarts_per_minute", default: 5, in: 0...10_000)
            restartBackoff = .milliseconds(try configuration.int("restart_backoff_ms", default: 250, in: 0...600_000))
            maxLineBytes = try configuration.int(
                "max_line_bytes", default: RailProtocol.defaultMaxLineBytes, in: 1024...(1 << 30))
        }
    }

    public nonisolated let descriptor: RailDescriptor
    public nonisolated let configuration: RailConfiguration
    public nonisolated let settings: Settings
    private let logger: Logger
    private var child: ProcessRailChild?
    private var nextRequestID = 1
    /// When the child was restarted, over the last minute.
    private var restarts: [ContinuousClock.Instant] = []
    private var lastFailure: ContinuousClock.Instant?
    private var isShutDown = false
    /// Calls waiting for the one in progress: the protocol has one request in flight.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private init(configuration: RailConfiguration, settings: Settings, descriptor: RailDescriptor, child: ProcessRailChild, logger: Logger)
    {
        self.configuration = configuration
        self.settings = settings
        self.descriptor = descriptor
        self.child = child
        self.logger = logger
    }

    /// Starts the rail's program and shakes hands with it.
    /// - Throws: ``RailError/Code/invalidConfiguration`` for bad settings or a descriptor of
    ///   another id, ``RailError/Code/protocolVersion`` when the child speaks another protocol
    ///   version, the child's own error (bad settings), or a timeout, protocol violation or crash
    ///   during the handshake; the child is stopped.
    public static func launch(_ configuration: RailConfiguration, logger: Logger) async throws(RailError) -> ProcessRail {
        let settings = try Settings(configuration)
        var logger = logger
        logger[metadataKey: "rail"] = "\(configuration.id)"
        let (child, descriptor) = try await start(configuration, settings: settings, logger: logger)
        logger.info("rail started", metadata: ["rail_pid": "\(child.pid)", "command": "\(settings.command.joined(separator: " "))"])
        return ProcessRail(configuration: configuration, settings: settings, descriptor: descriptor, child: child, logger: logger)
    }

    // MARK: Rail

    public func fetchNext(cursor: String?, pageSize: Int) async throws(RailError) -> RailPage {
        try require(.pull)
        guard pageSize > 0 else { throw RailError(.invalidConfiguration, "page size must be positive") }
        return try await call(.fetchNext, RailProtocol.FetchNextParams(cursor: cursor, pageSize: pageSize), as: RailPage.self)
    }

    public func statement(from: Date, to: Date, cursor: String?, pageSize: Int) async throws(RailError) -> StatementPage {
        try require(.statements)
        guard pageSize > 0 else { throw RailError(.invalidConfiguration, "page size must be positive") }
        return try await call(
            .statement, RailProtocol.StatementParams(from: from, to: to, cursor: cursor, pageSize: pageSize), as: StatementPage.self)
    }

    public func verifyWebhook(headers: [String: String], body: [UInt8]) async throws(RailError) -> RailDelivery {
        try require(.webhooks)
        return try await call(
            .verifyWebhook,
            RailProtocol.VerifyWebhookParams(
                headers: Dictionary(headers.map { ($0.key.lowercased(), $0.value) }) { _, last in last },
                bodyBase64: Data(body).base64EncodedString()),
            as: RailDelivery.self)
    }

    /// Closes the child's input and waits `kill_grace_ms` for it to exit, then kills it. Later
    /// calls fail with ``RailError/Code/shutDown``.
    public func shutdown() async {
        isShutDown = true
        await acquire()
        defer { release() }
        guard let child else { return }
        self.child = nil
        child.closeInput()
        if await child.waitForExit(until: .now + settings.killGrace) {
            let status = await child.stop(grace: .zero)
            logger.info("rail stopped", metadata: ["status": "\(ProcessRailChild.describe(status: status))"])
        } else {
            let status = await child.stop(grace: settings.killGrace)
            logger.warning(
                "rail did not exit when its input closed; killed", metadata: ["status": "\(ProcessRailChild.describe(status: status))"])
        }
    }

    /// The process id of the running child, nil when none runs (for operators and tests).
    public var processID: Int32? { child?.pid }

    /// How often the child was restarted in the last minute.
    public var recentRestarts: Int {
        let now = ContinuousClock.now
        return restarts.count { now - $0 < .seconds(60) }
    }

    // MARK: Requests

    private func require(_ capability: RailDescriptor.Capability) throws(RailError) {
        guard descriptor.capabilities.contains(capability) else {
            throw RailError(.unsupported, "rail \(descriptor.id) does not offer \(capability.rawValue)")
        }
    }

    /// Sends one request and reads its response, supervising the child.
    private func call<Params: Encodable, Result: Decodable>(
        _ method: RailProtocol.Method, _ params: Params, as: Result.Type
    ) async throws(RailError) -> Result {
        await acquire()
        defer { release() }
        guard !isShutDown else { throw RailError(.shutDown, "rail \(descriptor.id) is shut down") }
        let child = try await runningChild()
        let id = nextRequestID
        nextRequestID += 1
        let line: [UInt8]
        do {
            line = Array(try RailProtocol.encoder().encode(RailProtocol.Request(id: id, method: method.rawValue, params: params))) + [0x0A]
        } catch {
            throw RailError(.invalidEvent, "cannot encode a \(method.rawValue) request: \(error)")
        }
        let deadline = ContinuousClock.now + settings.timeout
        do throws(RailError) {
            try await child.send(line, until: deadline)
            let event = await child.nextLine(until: deadline)
            let bytes = try await Self.line(event, from: child, settings: settings, waitingFor: "the answer to \(method.rawValue)")
            return try decodeResponse(bytes, id: id, method: method, as: Result.self)
        } catch let error where [.timeout, .protocolViolation, .crashed].contains(error.code) {
            let status = await discard(child, because: error)
            throw RailError(error.code, "rail \(descriptor.id): \(error.message)\(error.code == .crashed ? " (it \(status))" : "")")
        }
    }

    private func decodeResponse<Result: Decodable>(
        _ bytes: [UInt8], id: Int, method: RailProtocol.Method, as: Result.Type
    ) throws(RailError) -> Result {
        let decoder = RailProtocol.decoder()
        let response: RailProtocol.Response<Result>
        do {
            response = try decoder.decode(RailProtocol.Response<Result>.self, from: Data(bytes))
        } catch {
            // A wrong id is reported as such even when the body is also wrong.
            if let answered = try? decoder.decode(RailProtocol.ResponseID.self, from: Data(bytes)), answered.id != id {
                throw RailError(.protocolViolation, "answer to request \(id) carries id \(answered.id.map(String.init) ?? "null")")
            }
            throw RailError(
                .protocolViolation, "malformed answer to \(method.rawValue): \(RailProtocol.describe(error)): \(Self.excerpt(bytes))")
        }
        guard response.id == id else {
            throw RailError(.protocolViolation, "answer to request \(id) carries id \(response.id.map(String.init) ?? "null")")
        }
        switch (response.result, response.error) {
        case (let result?, nil):
            return result
        case (nil, let error?):
            guard RailProtocol.isValidCode(error.code) else {
                throw RailError(.protocolViolation, "error code \(error.code.debugDescription) is not snake_case")
            }
            // The child answered: it is healthy, the call failed for a reason of its own.
            throw RailError(RailError.Code(error.code), "rail \(descriptor.id): \(error.message)")
        default:
            throw RailError(.protocolViolation, "an answer has exactly one of result and error: \(Self.excerpt(bytes))")
        }
    }

    /// The line of `event`, or the supervisor's error for its absence.
    private static func line(
        _ event: LineMailbox.Event, from child: ProcessRailChild, settings: Settings, waitingFor what: String
    ) async throws(RailError) -> [UInt8] {
        switch event {
        case .line(let bytes):
            return bytes
        case .timeout:
            throw RailError(.timeout, "no answer within \(settings.timeout) while waiting for \(what)")
        case .tooLong:
            throw RailError(.protocolViolation, "a line longer than \(settings.maxLineBytes) bytes while waiting for \(what)")
        case .cancelled:
            throw RailError(.timeout, "cancelled while waiting for \(what)")
        case .endOfFile:
            // It closed its output: it is exiting; give it a moment, so that its own exit status
            // is the one reported rather than the signal that stops it.
            _ = await child.waitForExit(until: .now + .milliseconds(500))
            throw RailError(.crashed, "the rail closed its output while waiting for \(what)")
        }
    }

    private static func excerpt(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(200), as: UTF8.self)
        return (bytes.count > 200 ? text + "…" : text).debugDescription
    }

    // MARK: Supervision

    /// The running child, restarting it if it exited since the last call.
    private func runningChild() async throws(RailError) -> ProcessRailChild {
        if let child {
            guard child.hasExited() else { return child }
            await discard(child, because: RailError(.crashed, "the rail exited between calls"))
        }
        let now = ContinuousClock.now
        restarts.removeAll { now - $0 >= .seconds(60) }
        guard restarts.count < settings.maxRestartsPerMinute else {
            let next = restarts[0] + .seconds(60) - now
            throw RailError(
                .crashed,
                "rail \(descriptor.id) was restarted \(restarts.count) times in the last minute (the limit); the next restart is allowed in \(next)"
            )
        }
        if let lastFailure, !restarts.isEmpty {
            let backoff = min(settings.restartBackoff * (1 << min(restarts.count - 1, 20)), .seconds(30))
            let wait = lastFailure + backoff - now
            if wait > .zero { try? await Task.sleep(for: wait) }
        }
        restarts.append(.now)
        do throws(RailError) {
            let (child, descriptor) = try await Self.start(configuration, settings: settings, logger: logger)
            guard descriptor == self.descriptor else {
                await child.stop(grace: settings.killGrace)
                throw RailError(
                    .protocolViolation, "the restarted rail describes itself differently; restart Settle to take a new descriptor")
            }
            logger.notice("rail restarted", metadata: ["rail_pid": "\(child.pid)", "restarts_last_minute": "\(restarts.count)"])
            self.child = child
            return child
        } catch {
            lastFailure = .now
            throw RailError(error.code, "rail \(descriptor.id): restart failed: \(error.message)")
        }
    }

    /// Stops a child that failed; the next call starts another. Returns how it ended.
    @discardableResult
    private func discard(_ child: ProcessRailChild, because error: RailError) async -> String {
        if self.child === child { self.child = nil }
        lastFailure = .now
        let status = ProcessRailChild.describe(status: await child.stop(grace: settings.killGrace))
        logger.error(
            "rail process failed and was stopped; the next call restarts it",
            metadata: ["error": "\(error)", "rail_pid": "\(child.pid)", "status": "\(status)"])
        return status
    }

    /// Spawns the child and shakes hands: hello with the settings, hello with the descriptor.
    private static func start(
        _ configuration: RailConfiguration, settings: Settings, logger: Logger
    ) async throws(RailError) -> (ProcessRailChild, RailDescriptor) {
        let child = try ProcessRailChild.spawn(
            command: settings.command, environment: settings.environment, maxLineBytes: settings.maxLineBytes, logger: logger)
        do throws(RailError) {
            var config = configuration.settings
            config["id"] = .string(configuration.id)
            let hello: [UInt8]
            do {
                hello =
                    Array(try RailProtocol.encoder().encode(RailProtocol.Hello(protocol: RailProtocol.version, config: config))) + [0x0A]
            } catch {
                throw RailError(.invalidConfiguration, "rail \(configuration.id): cannot encode its settings: \(error)")
            }
            let deadline = ContinuousClock.now + settings.timeout
            try await child.send(hello, until: deadline)
            let bytes = try await line(await child.nextLine(until: deadline), from: child, settings: settings, waitingFor: "the handshake")
            let descriptor = try handshake(bytes, configuration: configuration)
            return (child, descriptor)
        } catch {
            await child.stop(grace: settings.killGrace)
            logger.error("rail handshake failed; the rail was stopped", metadata: ["error": "\(error)"])
            throw RailError(
                error.code,
                error.message.hasPrefix("rail \(configuration.id)") ? error.message : "rail \(configuration.id): \(error.message)")
        }
    }

    /// Checks the child's hello and returns its descriptor.
    private static func handshake(_ bytes: [UInt8], configuration: RailConfiguration) throws(RailError) -> RailDescriptor {
        let answer: RailProtocol.HelloAnswer
        do {
            answer = try RailProtocol.decoder().decode(RailProtocol.HelloAnswer.self, from: Data(bytes))
        } catch {
            throw RailError(.protocolViolation, "malformed hello: \(RailProtocol.describe(error)): \(excerpt(bytes))")
        }
        if answer.type == "error", let error = answer.error {
            guard RailProtocol.isValidCode(error.code) else {
                throw RailError(.protocolViolation, "error code \(error.code.debugDescription) is not snake_case")
            }
            throw RailError(RailError.Code(error.code), error.message)
        }
        guard answer.type == "hello" else {
            throw RailError(.protocolViolation, "the first message must be hello, got type \(answer.type.debugDescription)")
        }
        guard let version = answer.protocol else { throw RailError(.protocolViolation, "hello without a protocol version") }
        guard version == RailProtocol.version else {
            throw RailError(.protocolVersion, "the rail speaks protocol version \(version); this Settle speaks \(RailProtocol.version)")
        }
        guard let wire = answer.descriptor else { throw RailError(.protocolViolation, "hello without a descriptor") }
        let descriptor = wire.descriptor(kind: kind)
        guard descriptor.id == configuration.id else {
            throw RailError(
                .invalidConfiguration, "the rail describes itself as \(descriptor.id.debugDescription), configured as \(configuration.id)")
        }
        try descriptor.validate()
        return descriptor
    }

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }
}
