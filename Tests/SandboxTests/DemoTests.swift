import Foundation
import SettleTesting
import Testing

extension BinaryTests {
    /// `settle demo` as README runs it: the binary on the embedded database, agents paying over
    /// every rail, the injected faults, and the reconciliation finding exactly their breaks; the
    /// report it wrote, rendered by headless Chromium.
    @Suite("settle demo", .timeLimit(.minutes(5)))
    struct DemoTests {
        static let faults: Set<String> = [
            "reorg", "wallet drift", "fee difference", "lost webhook", "late payout", "drift", "unbanked payout",
        ]

        @Test func theDemoFindsExactlyTheInjectedBreaksAndWritesItsReport() async throws {
            guard let settle = SettleProcess.binary else {
                if InteropPython.isCI { Issue.record("the settle binary is missing: run scripts/test") }
                return
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let demo = try SettleProcess(settle, ["demo", "--out", directory.path, "--agents", "2", "--payments-per-agent", "2"])
            defer { demo.stop() }
            let status = try await demo.exitStatus()
            let lines = demo.stdout.split(separator: "\n").map(String.init)
            #expect(status == 0, "\(demo.stdout)\n\(demo.stderr.suffix(4_000))")

            // One line per break: `break <fault> <code> <rail> <reference>: <explanation>`.
            let breaks = lines.filter { $0.hasPrefix("break ") }
            let unexpected = breaks.filter { $0.hasPrefix("break unexpected ") }
            #expect(unexpected.isEmpty, "\(unexpected)")
            let named = Set(breaks.compactMap { line in Self.faults.first { line.hasPrefix("break \($0) ") } })
            #expect(named == Self.faults, "\(breaks)")
            #expect(breaks.count == Self.faults.count, "\(breaks)")
            let missed = lines.filter { $0.hasPrefix("missed ") }
            #expect(missed.isEmpty, "\(missed)")
            let unexplained = breaks.filter { !$0.contains(": ") || $0.hasSuffix(": ") }
            #expect(unexplained.isEmpty, "\(unexplained)")
            // The payout that reached the bank leaves no break: the card rail's run counts it as met.
            let met = lines.filter { $0.contains(" counterparts_checked=2 counterparts_met=1") }
            #expect(met.count == 1, "\(demo.stdout)")
            let banks = lines.filter { $0.hasPrefix("  run ") && $0.contains(" demo-bank-") && $0.contains(": complete") }
            #expect(!banks.isEmpty, "the bank-file rail is reconciled: \(demo.stdout)")
            let verified = lines.filter { $0 == "verify: all invariants hold" }
            #expect(verified.count == 1, "\(demo.stdout)")

            // One report per UTC day the demo touched (two when it runs across midnight): the
            // breaks are on whichever day their transfers fell, so the checks take them all.
            let reports = lines.filter { $0.hasPrefix("report: ") }.map { URL(fileURLWithPath: String($0.dropFirst("report: ".count))) }
            #expect(!reports.isEmpty, "\(demo.stdout)")
            let outside = reports.filter { !$0.path.hasPrefix(directory.path) }
            #expect(outside.isEmpty)
            let pages = try reports.map { try String(contentsOf: $0, encoding: .utf8) }
            let withoutChart = pages.filter { !$0.contains("<svg id=\"chart\"") }
            #expect(withoutChart.isEmpty)
            let breakRows = pages.map { $0.components(separatedBy: "<tr class=\"break\"").count - 1 }.reduce(0, +)
            #expect(breakRows >= 3)

            guard let chromium = HeadlessChromium.path else {
                if InteropPython.isCI { Issue.record("CI must have chromium: scripts/bootstrap installs it when CI=true") }
                return
            }
            let browser = HeadlessChromium(executable: chromium, workDirectory: directory)
            var dom = ""
            var largest = 0
            for report in reports {
                let png = try await offPool { try browser.screenshot(report) }
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
                largest = max(largest, png.count)
                dom += try await offPool { try browser.dom(report) }
            }
            #expect(largest > 20_000, "a blank page compresses far below this: \(largest) bytes")
            #expect(dom.contains("<rect class=\"breaks\""))
            #expect(dom.contains("missing_in_rail") && dom.contains("missing_in_ledger") && dom.contains("drift"))
            #expect(dom.contains("counterpart_missing") && dom.contains("Across rails"))
        }
    }
}
