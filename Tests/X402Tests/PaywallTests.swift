import EVM
import Foundation
import Hummingbird
import NIOHTTP1
import Testing

@testable import X402

/// Whether a request is priced is the router's own match: every spelling of a priced path that
/// reaches its handler is charged, through real HTTP.
struct PaywallTests {
    /// Paths the router (on canonical paths) dispatches to the `/paid/joke` handler.
    static let spellings = [
        "/paid/joke", "/paid/joke/", "//paid/joke", "/paid//joke", "/paid/joke//", "//paid//joke//", "/paid/%6Aoke", "/paid/%6aoke",
        "/%70aid/joke", "/paid/joke?x", "/paid/joke?x=1&y=2", "/paid/joke/?x",
    ]
    /// Reach the handler only on a case-insensitive router.
    static let caseVariants = ["/PAID/joke", "/Paid/Joke", "/paid/JOKE/", "//PAID//%6Aoke"]

    @Test(arguments: [false, true])
    func everySpellingOfAPricedPathIsCharged(caseInsensitive: Bool) async throws {
        try await X402Harness.with { h in
            let url = try await h.startServer(
                routerOptions: caseInsensitive ? [.caseInsensitive, .autoGenerateHeadEndpoints] : [.autoGenerateHeadEndpoints])
            let priced = Self.spellings + (caseInsensitive ? Self.caseVariants : [])
            var wrong: [String] = []
            for path in priced {
                for method in [HTTPMethod.GET, .HEAD] {
                    let answer = try await X402Harness.get(url + path, method: method)
                    if answer.status != 402 || answer.paymentRequired?.accepts != [h.requirements()] || answer.body.contains("joke content")
                    {
                        wrong.append("\(method) \(path): \(answer.status) \(answer.body)")
                    }
                }
            }
            #expect(wrong.isEmpty, "\(wrong)")
            if !caseInsensitive {
                // No handler on a case-sensitive router: not found, never the content.
                for path in Self.caseVariants {
                    let answer = try await X402Harness.get(url + path)
                    #expect(answer.status == 404, "\(path)")
                    #expect(!answer.body.contains("joke content"), "\(path)")
                }
            }
            // An endpoint behind the paywall without a price is refused, never served free.
            let unpriced = try await X402Harness.get(url + "/unpriced")
            #expect(unpriced.status == 500)
            #expect(!unpriced.body.contains("unpriced content"))
            #expect(try await X402Harness.get(url + "/free").body == "free content")

            // A paid HEAD is refused and settles nothing; a paid GET on another spelling is served.
            let payer = try await h.fundedPayer()
            let payload = try X402Harness.payment(key: payer, requirements: h.requirements())
            let signature = [("PAYMENT-SIGNATURE", X402HeaderCodec.standard.encode(payload))]
            #expect(try await X402Harness.get(url + "/paid/joke", method: .HEAD, headers: signature).status == 402)
            #expect(try await h.facilitatorTransactions() == 0)
            let paid = try await X402Harness.get(url + "//paid/%6Aoke/", headers: signature)
            #expect(paid.status == 200)
            #expect(paid.body == "joke content")
            #expect(try await h.facilitatorTransactions() == 1)
        }
    }
}
