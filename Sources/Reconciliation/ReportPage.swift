import Foundation
import Ledger

/// Renders a ``ReconciliationReport`` as one self-contained HTML page: inline CSS, an inline SVG
/// chart, no script and no external asset, so it opens anywhere it is copied to.
public enum ReportPage {
    public static func html(_ report: ReconciliationReport) -> String {
        let verdict =
            report.rails.isEmpty
            ? "No finished reconciliation run for this day."
            : report.isClean
                ? "Every rail agrees with the ledger."
                : "\(report.breaks.filter { $0.code.isError && $0.resolution == nil }.count) open break(s) need attention."
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Settle reconciliation \(escape(report.day))</title>
            <style>
            body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2430; margin: 2rem auto; max-width: 1100px; padding: 0 1.5rem; }
            h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d8dde6; padding-bottom: .3rem; }
            .muted { color: #5b6575; } .verdict { font-size: 1.1rem; padding: .6rem .9rem; border-radius: 6px; display: inline-block; }
            .ok { background: #e3f5e8; color: #17603a; } .bad { background: #fde8e8; color: #9b1c1c; }
            table { border-collapse: collapse; width: 100%; margin-top: .6rem; font-size: 14px; }
            th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
            th { background: #f3f5f8; font-weight: 600; } td.since { white-space: nowrap; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
            .code { font-family: ui-monospace, Menlo, monospace; font-size: 13px; }
            td.ref, td.num { overflow-wrap: anywhere; }
            .tag { display: inline-block; padding: 0 .45rem; border-radius: 4px; font-size: 12px; font-weight: 600; }
            .tag.timing { background: #fff4d6; color: #7a5600; } .tag.error { background: #fde8e8; color: #9b1c1c; } .tag.resolved { background: #e3f5e8; color: #17603a; }
            details pre { white-space: pre-wrap; word-break: break-all; background: #f6f8fa; padding: .5rem; border-radius: 4px; font-size: 12px; max-height: 18rem; overflow: auto; }
            .legend span { margin-right: 1.2rem; } .sw { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
            </style></head><body>
            <h1>Reconciliation — \(escape(report.day))</h1>
            <p class="muted">Generated \(escape(iso(report.generatedAt))) · \(report.rails.count) rail(s)</p>
            <p class="verdict \(report.isClean ? "ok" : "bad")">\(escape(verdict))</p>
            <h2>Matched, timing and breaks per rail</h2>
            \(chart(report.rails))
            <p class="legend"><span><i class="sw" style="background:#2f9e5b"></i>matched</span><span><i class="sw" style="background:#e0a100"></i>timing (inside SLA)</span><span><i class="sw" style="background:#d64545"></i>breaks</span></p>
            <table><thead><tr><th>Rail</th><th>Run</th><th>Status</th><th class="num">Statement rows</th><th class="num">Ledger rows</th><th class="num">Matched</th><th class="num">Timing</th><th class="num">Breaks</th><th>Changes since previous run</th></tr></thead><tbody>

            """
        for rail in report.rails {
            let changes = rail.run.changes.map { c in
                c.previousRun == nil ? "first run" : "+\(c.new.count) / −\(c.gone.count) vs run \(c.previousRun!)"
            }
            page += """
                <tr><td class="code">\(escape(rail.rail))</td><td>\(rail.run.id)</td><td>\(escape(rail.run.status.rawValue))\(rail.run.error.map { " — " + escape($0) } ?? "")</td>\
                <td class="num">\(rail.run.statementRows)</td><td class="num">\(rail.run.counts["ledger_rows"] ?? 0)</td>\
                <td class="num">\(rail.matched)</td><td class="num">\(rail.timing)</td><td class="num">\(rail.breaks)</td><td>\(escape(changes ?? "—"))</td></tr>

                """
        }
        page += "</tbody></table>\n<h2>Balance drift at the cut-off</h2>\n"
        let checks = report.rails.map { $0.run.counts["drift_checks"] ?? 0 }.reduce(0, +)
        if report.drift.isEmpty {
            page +=
                "<p>\(checks == 0 ? "No rail exposes a balance for this day." : "\(checks) balance(s) checked: the ledger agrees with every rail.")</p>\n"
        } else {
            page += table(report.drift, amounts: ("Rail balance", "Ledger balance"))
        }
        page += "<h2>Clearing accounts</h2>\n"
        if report.clearing.isEmpty {
            page += "<p>Every clearing account is at zero at the cut-off.</p>\n"
        } else {
            page += table(report.clearing, amounts: ("—", "Open amount"))
        }
        // A met counterpart leaves no break: the runs' counts are the only trace of the match.
        let counterparts = report.rails.map { ($0.run.counts["counterparts_checked"] ?? 0, $0.run.counts["counterparts_met"] ?? 0) }
        let (checked, met) = counterparts.reduce((Int64(0), Int64(0))) { ($0.0 + $1.0, $0.1 + $1.1) }
        if checked > 0 {
            page += "<h2>Across rails</h2>\n"
            page +=
                "<p>\(checked) transfer(s) checked against another rail's (counterpart rules): \(met) met in full by the transfer naming it, \(checked - met) not (below, as <span class=\"code\">counterpart_*</span> or timing).</p>\n"
        }
        let others = report.breaks.filter { $0.code != .drift && !report.clearing.map(\.id).contains($0.id) }
        page += "<h2>Breaks (\(others.count))</h2>\n"
        page += others.isEmpty ? "<p>No break.</p>\n" : table(others, amounts: ("Rail amount", "Ledger amount"))
        page += "</body></html>\n"
        return page
    }

    /// A horizontal stacked bar per rail. Widths are proportional, but a non-zero part is never
    /// narrower than a few pixels, so one break among a million matches stays visible.
    static func chart(_ rails: [ReconciliationReport.RailSummary]) -> String {
        // The label column fits the longest rail id (about 7.5 px a character at 13 px), the bars
        // take the rest of the page's width.
        let longest = Double(rails.map(\.rail.count).max() ?? 0)
        let labelWidth = min(320, max(150, longest * 7.5 + 12))
        let (barWidth, row) = (910 - labelWidth, 34.0)
        let height = Double(max(1, rails.count)) * row + 10
        var svg = "<svg id=\"chart\" role=\"img\" aria-label=\"matched, timing and breaks per rail\" xmlns=\"http://www.w3.org/2000/svg\" "
        svg +=
            "width=\"\(Int(labelWidth + barWidth + 20))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(labelWidth + barWidth + 20)) \(Int(height))\">"
        for (index, rail) in rails.enumerated() {
            let y = 5 + Double(index) * row
            let parts: [(Int64, String, String)] = [
                (rail.matched, "#2f9e5b", "matched"), (rail.timing, "#e0a100", "timing"), (rail.breaks, "#d64545", "breaks"),
            ]
            let total = max(1, parts.map(\.0).reduce(0, +))
            var widths = parts.map { $0.0 == 0 ? 0 : max(6, barWidth * Double($0.0) / Double(total)) }
            let overflow = widths.reduce(0, +) - barWidth
            if overflow > 0, let widest = widths.indices.max(by: { widths[$0] < widths[$1] }) { widths[widest] -= overflow }
            svg +=
                "<text x=\"0\" y=\"\(Int(y + 19))\" font-family=\"system-ui, sans-serif\" font-size=\"13\" fill=\"#1d2430\">\(escape(rail.rail))</text>"
            var x = labelWidth
            for (part, width) in zip(parts, widths) where width > 0 {
                svg +=
                    "<rect class=\"\(part.2)\" x=\"\(Int(x))\" y=\"\(Int(y))\" width=\"\(Int(width.rounded()))\" height=\"26\" fill=\"\(part.1)\"><title>\(part.2): \(part.0)</title></rect>"
                if width > 40 {
                    svg +=
                        "<text x=\"\(Int(x + 6))\" y=\"\(Int(y + 18))\" font-family=\"system-ui, sans-serif\" font-size=\"12\" fill=\"#fff\">\(part.0)</text>"
                }
                x += width
            }
            if parts.map(\.0).reduce(0, +) == 0 {
                svg += "<text x=\"\(Int(labelWidth))\" y=\"\(Int(y + 18))\" font-size=\"12\" fill=\"#5b6575\">no records</text>"
            }
        }
        return svg + "</svg>"
    }

    static func table(_ breaks: [ReconciliationBreak], amounts: (String, String)) -> String {
        var out = """
            <table class="breaks"><thead><tr><th>#</th><th>Rail</th><th>Type</th><th>Reference</th><th>Asset</th>\
            <th class="num">\(escape(amounts.0))</th><th class="num">\(escape(amounts.1))</th><th>Since</th><th>State</th><th>Evidence</th></tr></thead><tbody>

            """
        for b in breaks {
            let state: String
            if let resolution = b.resolution {
                state = "<span class=\"tag resolved\">\(escape(resolution.kind.rawValue))</span> \(escape(resolution.note))"
            } else {
                state = b.code.isError ? "<span class=\"tag error\">open</span>" : "<span class=\"tag timing\">re-checked next run</span>"
            }
            out += """
                <tr class="break" data-code="\(escape(b.code.rawValue))"><td>\(b.id)</td><td class="code">\(escape(b.rail))</td>\
                <td class="code">\(escape(b.code.rawValue))</td><td class="code ref">\(escape(b.reference ?? "—"))</td><td class="code ref">\(escape(b.asset ?? "—"))</td>\
                <td class="num">\(escape(b.railAmount ?? "—"))</td><td class="num">\(escape(b.ledgerAmount ?? "—"))</td>\
                <td class="since">\(escape(b.firstSeen)) · \(b.ageDays) d</td><td>\(state)</td>\
                <td><details><summary>rows</summary><pre>\(escape(evidenceText(b.evidence)))</pre></details></td></tr>

                """
        }
        return out + "</tbody></table>\n"
    }

    static func evidenceText(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? ""
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    /// Escapes text for HTML element content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
