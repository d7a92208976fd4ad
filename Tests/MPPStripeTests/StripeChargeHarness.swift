import AsyncHTTPClient
import CardMock
import CardRail
import Foundation
import Ledger
import Logging
import MPP
import MPPStripe
import MPPTesting
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import RailKit
import ServiceLifecycle
import SettleTesting
import Testing

/// The card processor mock (`settle cardmock`), a card rail on it with an asset of its own, and an
/// app whose `GET /paid` costs `price` cents through `stripe/charge`, all in process.
struct StripeChargeHarness: Sendable {
    static let apiKey = "sk_test_settle_mpp_stripe"
    static let networkID = "profile_settle_tests"
    static let price: Int64 = 150
    static let logger: Logger = {
        var logger = Logger(label: "mpp-stripe-tests")
        logger.logLevel = .critical
        return logger
    }()

    let mockURL: String
    let app: MPPTestApp
    let ledger: PostgresLedger
    let rail: CardRail
    let booker: RailBooker
    let merchant: AccountID

    /// Runs `body` against a fresh mock and app, then stops both.
    static func with<T: Sendable>(_ body: @Sendable (StripeChargeHarness) async throws -> T) async throws -> T {
        let (mockPorts, mockSink) = AsyncStream.makeStream(of: Int.self)
        let mock = try CardMockServer.application(
            configuration: .init(port: 0, tickInterval: .milliseconds(200)), logger: logger,
            onServerRunning: { mockSink.yield(CardMockServer.boundPort($0) ?? 0) })
        let mockGroup = ServiceGroup(configuration: .init(services: [mock], logger: logger))
        let mockTask = Task { try await mockGroup.run() }
        var app: MPPTestApp?
        func stop() async {
            await app?.stop()
            await mockGroup.triggerGracefulShutdown()
            _ = try? await mockTask.value
        }
        do {
            var mockIterator = mockPorts.makeAsyncIterator()
            guard let mockPort = await mockIterator.next(), mockPort > 0 else { throw MPPTestFailure("the card mock did not start") }
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
            let started = try await MPPTestApp.start(
                offers: [method.offer(amount: price)], merchantAccount: merchant.rawValue,
                proofs: MPPProofStore(client: ledger.client, logger: logger), secret: "mpp-stripe-tests-secret-\(tag)", logger: logger)
            app = started
            let result = try await body(
                StripeChargeHarness(mockURL: mockURL, app: started, ledger: ledger, rail: rail, booker: booker, merchant: merchant))
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

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
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let body = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw MPPTestFailure("\(request.method) \(request.url): \(response.status.code) \(String(buffer: body))")
        }
        return try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
    }

    /// A shared payment token from the mock, as a buyer's wallet mints it for this seller.
    func mintToken(
        paymentMethod: String = "pm_card_visa", maxAmount: Int64 = StripeChargeHarness.price, currency: String = "usd",
        expiresAt: Int64? = nil, networkID: String = StripeChargeHarness.networkID
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
}
