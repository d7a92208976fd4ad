import Foundation
import LedgerAPI
import NIOHTTP1
import Testing

/// No request field of the document is nullable: `null` for an optional field is a malformed
/// request (400), never read as the field left out.
@Suite("Null request fields")
struct NullFieldTests {
    @Test func nullForAnOptionalFieldIsRefused() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            try await s.call(.POST, "/v1/assets", key: s.admin, body: #"{"id": "\#(p)-usd", "code": "USD", "scale": 2, "metadata": null}"#)
                .expectProblem(400, "invalid_request")
            try await s.books("world", "agent")
            try await s.call(
                .POST, "/v1/accounts", key: s.admin,
                body: #"{"id": "\#(p):x", "asset": "\#(p)-usd", "normal_side": "credit", "external_id": null}"#
            ).expectProblem(400, "invalid_request")
            let transfer = s.transfer("t1", "world", "agent", "5").dropLast() + #", "rail_reference": null}"#
            try await s.call(.POST, "/v1/transfers/batch", key: s.write, body: #"{"transfers": [\#(transfer)]}"#)
                .expectProblem(400, "invalid_request")
            let condition = s.transfer("t2", "world", "agent", "5").dropLast() + #", "conditions": [{"account": "\#(p):agent"}]}"#
            try await s.call(.POST, "/v1/transfers", key: s.write, body: String(condition)).expectProblem(400, "invalid_request")
            let one = #"{"id": "\#(p):t3", "postings": [{"direction": "debit", "account": "\#(p):world", "amount": "5"}]}"#
            try await s.call(.POST, "/v1/transfers", key: s.write, body: one).expectProblem(400, "too_few_postings")
            // Left out, the same fields are fine.
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("t4", "world", "agent", "5")).expect(201)
        }
    }
}
