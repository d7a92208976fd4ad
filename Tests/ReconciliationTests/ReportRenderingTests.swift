import Foundation
import Ledger
import Reconciliation
import SettleTesting
import Testing

/// The report of the fault matrix's day, as HTML and JSON, and as a person sees it: rendered by
/// headless Chromium, screenshotted, its DOM holding the chart and every break row.
@Suite("Reconciliation report", .timeLimit(.minutes(3)))
struct ReportRenderingTests {
    static let chromium = HeadlessChromium.path
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"

    static func report() async throws -> ReconciliationReport {
        let ledger = try await TestDatabase.ledger()
        let day = try await FaultMatrixTests.seed(ledger)
        let run = try await Reconciler(ledger: ledger, pageSize: 3).run(
            rail: day.rail, day: FaultMatrixTests.day, profile: FaultMatrixTests.profile, asOf: FaultMatrixTests.asOf)
        return try await ReconciliationReport.load(
            ReconciliationStore(ledger: ledger), day: FaultMatrixTests.day.date, only: [run.rail])
    }

    @Test func theHTMLIsSelfContainedAndHoldsEveryBreak() async throws {
        let report = try await Self.report()
        let html = ReportPage.html(report)
        #expect(html.contains("<svg id=\"chart\""))
        for forbidden in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
            #expect(!html.contains(forbidden), "external or active content: \(forbidden)")
        }
        // Nine breaks: eight in the list, the clearing account in its own section.
        #expect(report.breaks.count == 9)
        #expect(report.clearing.count == 1)
        #expect(html.components(separatedBy: "<tr class=\"break\"").count - 1 == 9)
        #expect(!report.isClean)
        let json = try JSONSerialization.jsonObject(with: try report.json()) as? [String: Any]
        #expect((json?["breaks"] as? [Any])?.count == 9)
    }

    @Test(
        .enabled(
            if: ReportRenderingTests.chromium != nil || ReportRenderingTests.inCI,
            "chromium is not installed here (apt-get install chromium); CI=true scripts/test installs it and runs this test"))
    func chromiumRendersTheChartAndTheBreakList() async throws {
        let chromium = try #require(Self.chromium, "CI must have chromium: scripts/bootstrap installs it when CI=true")
        let report = try await Self.report()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("report.html")
        try Data(ReportPage.html(report).utf8).write(to: page)
        let browser = HeadlessChromium(executable: chromium, workDirectory: directory)
        let png = try await offPool { try browser.screenshot(page) }
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 20_000, "a blank page compresses far below this: \(png.count) bytes")
        if let keep = ProcessInfo.processInfo.environment["SETTLE_REPORT_SCREENSHOT"] {
            try png.write(to: URL(fileURLWithPath: keep))
        }
        let dom = try await offPool { try browser.dom(page) }
        #expect(dom.contains("<svg id=\"chart\""))
        #expect(dom.contains("<rect class=\"breaks\""))
        #expect(dom.components(separatedBy: "<tr class=\"break\"").count - 1 == 9)
        #expect(dom.contains("amount_mismatch") && dom.contains("clearing_not_zero"))
    }
}
