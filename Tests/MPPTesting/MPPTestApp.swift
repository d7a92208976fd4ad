import SettleTesting
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MPP
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// A Hummingbird app on 127.0.0.1 whose `GET /paid` is priced by MPP offers through
/// `MPPMiddleware` (proofs reserved in the test database), counting how often it served.
public final class MPPTestApp: Sendable {
    /// The paid route's URL.
    public let url: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    private let served: Counter

    /// How many times the paid handler ran.
    public var servedCount: Int { served.value.withLock { $0 } }

    private init(url: String, group: ServiceGroup, task: Task<Void, any Error>, served: Counter) {
        self.url = url
        self.group = group
        self.task = task
        self.served = served
    }

    /// Starts the app; ``stop()`` it when done.
    /// - Parameters:
    ///   - offers: The route's offers, one challenge each.
    ///   - secret: The challenge secret; give each app its own.
    public static func start(
        offers: [MPPOffer], merchantAccount: String, proofs: MPPProofStore, secret: String, realm: String = "127.0.0.1",
        logger: Logger
    ) async throws -> MPPTestApp {
        let server = MPPServer(configuration: MPPServerConfiguration(realm: realm, secrets: try ChallengeSecrets([secret])), proofs: proofs)
        let counter = Counter()
        let router = Router(context: BasicRequestContext.self)
        let paid = router.group().add(
            middleware: MPPMiddleware<BasicRequestContext>(
                server: server, routes: [MPPRoute(path: "/paid", methods: [.get], offers: offers, merchantAccount: merchantAccount)]))
        paid.get("/paid") { _, _ in
            counter.value.withLock { $0 += 1 }
            return "paid content"
        }
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { sink.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            throw MPPTestFailure("the app did not start")
        }
        return MPPTestApp(url: "http://127.0.0.1:\(port)/paid", group: group, task: task, served: counter)
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// `GET /paid`, with a credential when `authorization` is given.
    public func get(authorization: String? = nil) async throws -> MPPTestAnswer {
        var request = HTTPClientRequest(url: url)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let body = try await response.body.collect(upTo: 1 << 20)
        return MPPTestAnswer(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    /// A fresh challenge (the first of a 402).
    public func challenge() async throws -> PaymentChallenge {
        let unpaid = try await get()
        guard unpaid.status == 402, let challenge = unpaid.challenges.first else {
            throw MPPTestFailure("no challenge: \(unpaid.status) \(unpaid.body)")
        }
        return challenge
    }

    /// Pays `challenge` with `payload`.
    public func pay(_ challenge: PaymentChallenge, _ payload: [String: JSONValue], source: String? = nil) async throws -> MPPTestAnswer {
        try await get(authorization: PaymentCredential(challenge: challenge, payload: .object(payload), source: source).authorization())
    }
}

/// The handler's count, shared with its closure.
private final class Counter: Sendable {
    let value = Mutex(0)
}

/// An answer of the paid route.
public struct MPPTestAnswer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: String

    /// The problem type's slug (`verification-failed`), when the body is a problem.
    public var problemSlug: String? {
        guard let data = body.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let type = object["type"] as? String
        else { return nil }
        return type.split(separator: "/").last.map(String.init)
    }

    /// The challenges of its `WWW-Authenticate` fields.
    public var challenges: [PaymentChallenge] {
        headers["WWW-Authenticate"].flatMap { (try? PaymentChallenge.parse(wwwAuthenticate: $0)) ?? [] }
    }

    /// Its `Payment-Receipt`, decoded.
    public var receipt: PaymentReceipt? {
        headers.first(name: "Payment-Receipt").flatMap { try? PaymentReceipt.parse($0) }
    }
}

public struct MPPTestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
