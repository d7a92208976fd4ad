import Foundation
import SettleTesting
import Testing

/// Schemathesis (PyPI `schemathesis`) generates requests from the OpenAPI document, valid and
/// invalid, and sends them to a running server: none may get a 5xx, and every response's status,
/// content type, headers and body must be what the document says; every request the document
/// calls valid must be accepted (or refused 422 by a rule JSON Schema cannot state, see
/// `schemathesis.toml`); and every request it calls invalid must be refused
/// (`negative_data_rejection`): an optional field sent as JSON `null` included, since no request
/// field of the document is nullable.
@Suite("Schemathesis against the API", .timeLimit(.minutes(10)))
struct SchemathesisTests {
    static let executable = OpenAPIDocumentTests.repository.appendingPathComponent(".venv/bin/schemathesis").path
    static let checks = [
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
        "response_schema_conformance", "positive_data_acceptance", "negative_data_rejection",
    ]
    static let configuration = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("schemathesis.toml").path

    @Test func noServerErrorAndEveryResponseConformsToTheDocument() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            if InteropPython.isCI { Issue.record("\(Self.executable) is missing: run scripts/bootstrap") }
            return
        }
        // A database of its own: the generated assets, accounts and transfers stay out of others' way.
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        // Its caches go to a scratch directory, not the working tree.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("schemathesis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        try await TestServer.with(database: url) { s in
            let command = [
                "cd", scratch.path, "&&", Self.executable, "--config-file", Self.configuration, "run",
                OpenAPIDocumentTests.documentURL.path,
                "--url", "http://127.0.0.1:\(s.port)", "-H", "'Authorization: Bearer \(s.admin)'", "--max-examples", "25", "--seed", "1",
                "--checks", Self.checks.joined(separator: ","), "--report-dir", scratch.path,
            ].joined(separator: " ")
            // Its exit status is printed, so that its report (on stdout) is what a failure shows.
            let output = String(
                decoding: try await offPool { try runChildProcess("/bin/sh", ["-c", command + #" 2>&1; echo "schemathesis-exit=$?""#]) },
                as: UTF8.self)
            #expect(output.contains("schemathesis-exit=0"), "\(output.suffix(6_000))")
            // Every operation of the document was reached, none skipped.
            let selected = output.firstMatch(of: /Selected: (\d+)\/(\d+)/).map { (String($0.1), String($0.2)) }
            let tested = output.firstMatch(of: /Tested: (\d+)/).map { String($0.1) }
            #expect(selected != nil && selected?.0 == selected?.1 && tested == selected?.0, "\(output.suffix(2_000))")
        }
    }
}
