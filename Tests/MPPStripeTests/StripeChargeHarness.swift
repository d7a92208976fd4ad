import AsyncHTTPClient
import CardMock
import CardRail
import Foundation
import Hummingbird
import Ledger
import Logging
import MPP
import MPPStripe
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import RailKit
import ServiceLifecycle
import SettleTesting
import Synchronization
import Testing

/// The card processor mock (`settle cardmock`), a card rail on it with an asset of its own, and a
/// Hummingbird app whose `GET /paid` costs `price` cents through `stripe/charge`, all in process.
struct StripeChargeHarness: Sendable {
    static let apiKey = "sk_test_settle_mpp_stripe"
    static let networkID = "profile_settle_tests"
    static let price: Int64 = 150
    static let realm = "127.0.0.1"
    static let logger: Logger = {
        var logger = Logger(label: "mpp-stripe-tests")
        logger.logLevel = .critical
        return logger
    }()

    let mockURL: String
    let url: String
    let ledger: PostgresLedger
    let rail: CardRail
    let booker: RailBooker
    let merchant: AccountID
    let served: Counter

    /// How many times the paid handler ran.
    final class Counter: Sendable {
        let value = Mutex(0)
    }

    /// Runs `body` against a fresh mock and app, then stops both.
    static func with<T: Sendable>(_ body: @Sendable (StripeChargeHarness) async throws -> T) async throws -> T {
        let (mockPorts, mockSink) = AsyncStream.makeStream(of: Int.self)
        let mock = try CardMockServer.application(
            configuration: .init(port: 0, tickInterval: .milliseconds(200)), logger: logger,
            onServerRunning: { mockSink.yield(CardMockServer.boundPort($0) ?? 0) })
        let mockGroup = ServiceGroup(configuration: .init(services: [mock], logger: logger))
        let mockTask = Task { try await mockGroup.run() }
        var appGroup: ServiceGroup?
        var appTask: Task<Void, any Error>?
        func stop() async {
            if let appGroup { await appGroup.triggerGracefulShutdown() }
            _ = try? await appTask?.value
            await mockGroup.triggerGracefulShutdown()
            _ = try? await mockTask.value
        }
        do {
            var mockIterator = mockPorts.makeAsyncIterator()
            guard let mockPort = await mockIterator.next(), mockPort > 0 else { throw HarnessFailure("the card mock did not start") }
            let mockURL = "http://127.0.0.1:\(mockPort)"
            let ledger = try await TestDatabase.ledger()
            let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let rail = try CardRail(
                configuration: RailConfiguration(
                    id: "card-\(tag)", kind: "card",
                    settings: ["base_url": .string(mockURL), "api_key": .string(apiKey), "asset_prefix": .string("card\(tag)")]),
                logger: logger)
            let booker = RailBooker(ledger: ledger)
            try await booker.install(rail.descriptor)
            let merchant = try AccountID("card-\(tag):merchant:revenue")
            let method = StripeChargeMethod(rail: rail, networkID: networkID, logger: logger)
            let server = MPPServer(
                configuration: MPPServerConfiguration(realm: realm, secrets: try ChallengeSecrets(["mpp-stripe-tests-secret-\(tag)"])),
                proofs: MPPProofStore(client: ledger.client, logger: logger))
            let served = Counter()
            let router = Router(context: BasicRequestContext.self)
            let paid = router.group().add(
                middleware: MPPMiddleware<BasicRequestContext>(
                    server: server,
                    routes: [
                        MPPRoute(path: "/paid", methods: [.get], offers: [method.offer(amount: price)], merchantAccount: merchant.rawValue)
                    ]))
            paid.get("/paid") { _, _ in
                served.value.withLock { $0 += 1 }
                return "paid content"
            }
            let (appPorts, appSink) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { appSink.yield($0.localAddress?.port ?? 0) }, logger: logger)
            let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
            appGroup = group
            appTask = Task { try await group.run() }
            var appIterator = appPorts.makeAsyncIterator()
            guard let appPort = await appIterator.next(), appPort > 0 else { throw HarnessFailure("the app did not start") }
            let harness = StripeChargeHarness(
                mockURL: mockURL, url: "http://127.0.0.1:\(appPort)/paid", ledger: ledger, rail: rail, booker: booker, merchant: merchant,
                served: served)
            let result = try await body(harness)
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

    var servedCount: Int { served.value.withLock { $0 } }

    /// The posted balance of `account` in its normal direction; "0" when nothing was ever booked to it.
    func balance(_ account: String) async throws -> String {
        let id = try AccountID(account)
        do {
            return try await ledger.balance(of: id).posted.description
        } catch  where error.code == .accountNotFound {
            return "0"
        }
    }

    /// The rail's ledger account `card:<asset>:<name>`.
    func cardAccount(_ name: String) -> String { "card:\(rail.descriptor.assets[0].id.rawValue):\(name)" }

    // MARK: Processor

    /// POSTs a form to the mock; the answer's JSON object. Non-2xx throws.
    @discardableResult
    func mockPost(_ path: String, _ parameters: [String: String] = [:]) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: mockURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(Self.apiKey)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let form = parameters.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)" }
        request.body = .bytes(ByteBuffer(string: form.joined(separator: "&")))
        return try await Self.json(request)
    }

    func mockGet(_ path: String) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: mockURL + path)
        request.headers.add(name: "Authorization", value: "Bearer \(Self.apiKey)")
        return try await Self.json(request)
    }

    private static func json(_ request: HTTPClientRequest) async throws -> [String: Any] {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw HarnessFailure("\(request.method) \(request.url): \(response.status.code) \(String(buffer: body))")
        }
        return try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
    }

    /// A shared payment token from the mock, as a buyer's wallet mints it for this seller.
    func mintToken(
        paymentMethod: String = "pm_card_visa", maxAmount: Int64 = StripeChargeHarness.price, currency: String = "usd",
        expiresAt: Int64? = nil,
        networkID: String = StripeChargeHarness.networkID
    ) async throws -> String {
        var parameters = [
            "payment_method": paymentMethod, "usage_limits[currency]": currency, "usage_limits[max_amount]": String(maxAmount),
            "seller_details[network_id]": networkID,
        ]
        if let expiresAt { parameters["usage_limits[expires_at]"] = String(expiresAt) }
        let token = try await mockPost("/v1/test_helpers/shared_payment/granted_tokens", parameters)
        return try #require(token["id"] as? String)
    }

    /// PaymentIntents the processor holds.
    func paymentIntents() async throws -> [[String: Any]] {
        try await mockGet("/v1/payment_intents?limit=100")["data"] as? [[String: Any]] ?? []
    }

    // MARK: HTTP

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        /// The problem type's slug.
        var problemSlug: String? {
            guard let data = body.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let type = object["type"] as? String
            else { return nil }
            return type.split(separator: "/").last.map(String.init)
        }

        var challenges: [PaymentChallenge] {
            headers["WWW-Authenticate"].flatMap { (try? PaymentChallenge.parse(wwwAuthenticate: $0)) ?? [] }
        }
    }

    func get(authorization: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    /// A fresh challenge, and the `Authorization` value paying it with `payload`.
    func credential(_ payload: [String: MPP.JSONValue]) async throws -> (PaymentChallenge, String) {
        let unpaid = try await get()
        #expect(unpaid.status == 402)
        let challenge = try #require(unpaid.challenges.first)
        let authorization = try PaymentCredential(challenge: challenge, payload: .object(payload)).authorization()
        return (challenge, authorization)
    }
}

struct HarnessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
