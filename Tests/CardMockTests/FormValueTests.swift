import Foundation
import Testing

@testable import CardMock

@Suite struct FormValueTests {
    @Test func nestedIndexedAndAppendedKeys() throws {
        let form = try FormValue.decode(
            "amount=2000&metadata[order]=42&expand[0]=latest_charge&expand[1]=customer&types[]=a&types[]=b&card[number]=4242&a[b][c]=d")
        #expect(form["amount"] == .string("2000"))
        #expect(form["metadata"] == .map(["order": .string("42")]))
        #expect(form["expand"] == .list([.string("latest_charge"), .string("customer")]))
        #expect(form["types"] == .list([.string("a"), .string("b")]))
        #expect(form["card"] == .map(["number": .string("4242")]))
        #expect(form["a"] == .map(["b": .map(["c": .string("d")])]))
    }

    @Test func indicesOrderNumericallyNotAsText() throws {
        let pairs = (0..<12).reversed().map { "x[\($0)]=\($0)" }.joined(separator: "&")
        let form = try FormValue.decode(pairs)
        #expect(form["x"] == .list((0..<12).map { .string(String($0)) }))
    }

    @Test func metadataWithNumericKeysStaysAMap() throws {
        let form = try FormValue.decode("metadata[0]=zero&metadata[1]=one")
        #expect(form["metadata"] == .map(["0": .string("zero"), "1": .string("one")]))
    }

    @Test func percentAndPlusDecoding() throws {
        let form = try FormValue.decode("description=a+b%26c%3Dd&metadata%5Bk%5D=%E2%82%AC")
        #expect(form["description"] == .string("a b&c=d"))
        #expect(form["metadata"] == .map(["k": .string("€")]))
    }

    @Test func emptyValuesAreKeptSoTheyCanUnset() throws {
        let form = try FormValue.decode("metadata[k]=&description=")
        #expect(form["metadata"] == .map(["k": .string("")]))
        #expect(form["description"] == .string(""))
        var params = Params(form)
        #expect(try params.metadata(merging: ["k": "v", "other": "x"]) == ["other": "x"])
        #expect(try params.nonEmpty("description") == nil)
    }

    @Test func canonicalFormIgnoresWireOrder() throws {
        let one = try FormValue.decode("a=1&metadata[x]=1&metadata[y]=2&list[0]=p&list[1]=q")
        let two = try FormValue.decode("list[0]=p&metadata[y]=2&a=1&list[1]=q&metadata[x]=1")
        let three = try FormValue.decode("list[0]=q&metadata[y]=2&a=1&list[1]=p&metadata[x]=1")
        #expect(FormValue.map(one).canonical == FormValue.map(two).canonical)
        #expect(FormValue.map(one).canonical != FormValue.map(three).canonical)
    }

    @Test func unbalancedBracketsAreRejected() {
        #expect(throws: StripeError.self) { try FormValue.decode("a[b=1") }
    }

    @Test func unreadParametersAreUnknownExceptLenientOnes() throws {
        var params = Params(try FormValue.decode("amount=1&bogus=2&expand[0]=x&reason=r"))
        _ = try params.int("amount")
        do {
            try params.finish()
            Issue.record("finish accepted an unknown parameter")
        } catch {
            #expect(error.code == "parameter_unknown")
            #expect(error.param == "bogus")
        }
    }

    @Test func createdRanges() throws {
        var params = Params(try FormValue.decode("created[gt]=10&created[lte]=20"))
        let range = try params.range("created")
        #expect(!range.contains(10))
        #expect(range.contains(11))
        #expect(range.contains(20))
        #expect(!range.contains(21))
    }
}

@Suite struct FeeScheduleTests {
    @Test func standardUSDIs290BpsPlus30RoundedHalfUp() {
        let fees = FeeSchedule.standard
        #expect(fees.fee(amount: 2_000, currency: "usd") == 88)  // 58 + 30
        #expect(fees.fee(amount: 1_500, currency: "usd") == 74)  // 43.5 → 44, + 30
        #expect(fees.fee(amount: 500, currency: "usd") == 45)  // 14.5 → 15, + 30
        #expect(fees.fee(amount: 50, currency: "usd") == 31)  // 1.45 → 1, + 30
        #expect(fees.fee(amount: 1_000, currency: "eur") == 40)  // 15 + 25
    }

    @Test func feeNeverExceedsTheAmountAndUnknownCurrenciesUseTheFallback() {
        let fees = FeeSchedule(rates: [:], fallback: .init(percentBps: 100, fixed: 10))
        #expect(fees.fee(amount: 5, currency: "usd") == 5)
        #expect(fees.fee(amount: 1_000, currency: "sek") == 20)
    }

    @Test func retryDelaysDoubleAndAreCapped() {
        let configuration = CardMockConfiguration(webhookRetryBase: .milliseconds(100), webhookRetryMaxDelay: .milliseconds(500))
        #expect(configuration.retryDelay(afterAttempts: 1) == .milliseconds(100))
        #expect(configuration.retryDelay(afterAttempts: 2) == .milliseconds(200))
        #expect(configuration.retryDelay(afterAttempts: 3) == .milliseconds(400))
        #expect(configuration.retryDelay(afterAttempts: 4) == .milliseconds(500))
    }

    @Test func webhookSignatureMatchesAKnownVector() {
        // HMAC-SHA256(key "whsec_test", "1700000000.{}"), computed independently with Python's hmac module.
        let header = WebhookSignature.header(secret: "whsec_test", timestamp: 1_700_000_000, body: Data("{}".utf8))
        #expect(header == "t=1700000000,v1=\(Self.expected)")
    }

    static let expected = "35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
}
