import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MPP
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Paywall
import ServiceLifecycle
import SettleTesting
import Synchronization

/// A method for tests of the server core: the proof is `{"token": "<string>"}`; `good-…` tokens
/// pay (reserved as single-use proofs), `manage-…` take a management action, `unknown` fails with
/// an unknown outcome, anything else is refused. It counts what it was asked.
final class TokenMethod: MPPMethod {
    let method: String
    let intent: String
    let calls = Mutex(0)

    init(method: String = "test", intent: String = "charge") {
        self.method = method
        self.intent = intent
    }

    func pay(_ payment: MPPPayment) async throws(PaymentProblem) -> MPPPaid {
        calls.withLock { $0 += 1 }
        guard let token = payment.payload["token"]?.stringValue else {
            throw PaymentProblem(.invalidPayload, detail: "token missing")
        }
        let receipt = PaymentReceipt(method: method, timestamp: ChallengeExpiry.format(Date()), reference: token)
        if token.hasPrefix("manage-") { return .managed(receipt, headers: ["Payment-Session": token]) }
        if token == "unknown" { throw PaymentProblem(.internalPaymentError, detail: "outcome unknown") }
        guard token.hasPrefix("good-") else { throw PaymentProblem(.verificationFailed, detail: "bad token") }
        try await payment.proofs.reserve(proof: "test:" + token, challengeID: payment.challenge.id, method: method, intent: intent)
        return .serve(receipt)
    }
}

/// A Hummingbird app with `MPPMiddleware` on 127.0.0.1: `/paid` and `/twin` at the same price,
/// `/pricier`, `/body` (binds the request body), `/fails` (500 after payment), `/unpriced`, `/free`.
final class MPPTestServer: Sendable {
    static let logger: Logger = {
        var logger = Logger(label: "mpp-tests")
        logger.logLevel = .critical
        return logger
    }()
    static let secret = "mpp-tests-secret-of-at-least-thirty-two-bytes"

    let url: String
    let method: TokenMethod
    let server: MPPServer
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(url: String, method: TokenMethod, server: MPPServer, group: ServiceGroup, task: Task<Void, any Error>) {
        self.url = url
        self.method = method
        self.server = server
        self.group = group
        self.task = task
    }

    static func request(amount: String) -> [String: JSONValue] {
        ["amount": .string(amount), "currency": .string("usd"), "recipient": .string("acct_test")]
    }

    static func with<T>(
        realm: String = "127.0.0.1", lifetime: Duration = .seconds(300), secrets: [String] = [secret],
        _ body: (MPPTestServer) async throws -> T
    ) async throws -> T {
        let method = TokenMethod()
        let other = TokenMethod(method: "other")
        let client = try await TestDatabase.client()
        let server = MPPServer(
            configuration: MPPServerConfiguration(realm: realm, secrets: try ChallengeSecrets(secrets), challengeLifetime: lifetime),
            proofs: MPPProofStore(client: client, logger: logger))
        func offer(_ amount: String) -> [MPPOffer] {
            [MPPOffer(method: method, request: request(amount: amount)), MPPOffer(method: other, request: request(amount: amount))]
        }
        let merchant = "merchant:mpp-tests"
        let routes = [
            MPPRoute(path: "/paid", offers: offer("100"), merchantAccount: merchant),
            MPPRoute(path: "/twin", offers: offer("100"), merchantAccount: merchant),
            MPPRoute(path: "/pricier", offers: offer("200"), merchantAccount: merchant),
            MPPRoute(path: "/body", methods: [.post], offers: offer("100"), merchantAccount: merchant, bindsBody: true),
            MPPRoute(path: "/fails", offers: offer("100"), merchantAccount: merchant),
        ]
        // HEAD reaches the GET handlers, as in a production router: it must be priced as GET.
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        let paid = router.group().add(middleware: MPPMiddleware<BasicRequestContext>(server: server, routes: routes))
        paid.get("/paid") { _, _ in "paid content" }
        paid.get("/twin") { _, _ in "twin content" }
        paid.get("/pricier") { _, _ in "pricier content" }
        paid.post("/body") { request, _ in
            var request = request
            return String(buffer: try await request.collectBody(upTo: 1 << 16))
        }
        paid.get("/fails") { _, _ -> Response in throw HTTPError(.internalServerError) }
        paid.get("/unpriced") { _, _ in "unpriced content" }
        router.get("/free") { _, _ in "free content" }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: CanonicalPaths(router), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the app did not start") }
        let harness = MPPTestServer(url: "http://127.0.0.1:\(port)", method: method, server: server, group: group, task: task)
        do {
            let result = try await body(harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        try? await task.value
    }

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        var challenges: [PaymentChallenge] {
            headers["WWW-Authenticate"].flatMap { (try? PaymentChallenge.parse(wwwAuthenticate: $0)) ?? [] }
        }
        var problemType: String? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["type"] as? String
        }
        var receipt: PaymentReceipt? { headers.first(name: "Payment-Receipt").flatMap { try? PaymentReceipt.parse($0) } }
    }

    func send(_ path: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let buffer = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }

    /// Pays `path` with `token` on its first (or the named method's) challenge.
    func pay(_ path: String, token: String, method name: String = "test", httpMethod: HTTPMethod = .GET, body: String? = nil)
        async throws -> (Answer, String)
    {
        let unpaid = try await send(path, method: httpMethod, body: body)
        guard let challenge = unpaid.challenges.first(where: { $0.method == name }) else {
            throw TestFailure("no \(name) challenge on \(path): \(unpaid.status) \(unpaid.body)")
        }
        let authorization = try PaymentCredential(challenge: challenge, payload: .object(["token": .string(token)])).authorization()
        return (try await send(path, method: httpMethod, headers: [("Authorization", authorization)], body: body), authorization)
    }

    static func token() -> String { "good-" + String(UInt64.random(in: 0...UInt64.max), radix: 36) }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
