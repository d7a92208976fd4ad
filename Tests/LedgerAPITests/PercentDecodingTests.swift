import Foundation
import Testing

@testable import LedgerAPI

/// Path ids are percent-decoded by hand; the result must be Foundation's for every input.
@Suite("Percent decoding of path ids")
struct PercentDecodingTests {
    @Test(arguments: [
        "merchant", "a%3Ab", "a%3ab%2F%2fc", "%", "%4", "%zz", "abc%", "abc%2", "%E2%82%AC", "%C3", "%FF%FE", "%00", "100%25",
        "%41%42%43", "", "ü%20x",
    ])
    func matchesFoundation(_ text: String) {
        #expect(LedgerRoutes.percentDecoded(text) == text.removingPercentEncoding)
    }
}
