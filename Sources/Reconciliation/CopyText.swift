import Foundation
import Ledger
import NIOCore
import RailKit
import Timestamps

/// Renders statement rows in PostgreSQL's COPY text format: the staging load is one COPY per page
/// rather than one INSERT per row.
public enum CopyText {
    /// One `settle.recon_statement` line.
    public static func write(_ record: StatementRecord, run: Int64, ordinal: Int64, into buffer: inout ByteBuffer) {
        buffer.writeString("\(run)\t\(ordinal)\t")
        field(record.reference, &buffer)
        buffer.writeString("\t")
        field(record.type, &buffer)
        buffer.writeString("\t\(record.direction.rawValue)\t")
        field(record.asset.rawValue, &buffer)
        buffer.writeString("\t\(record.amount.description)\t\(record.fee.description)\t")
        field(record.status, &buffer)
        buffer.writeString("\t\(timestamp(record.occurredAt))\t")
        field(json(record.details), &buffer)
        buffer.writeString("\n")
    }

    /// Escapes the characters COPY's text format gives a meaning to.
    static func field(_ text: String, _ buffer: inout ByteBuffer) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeString("\\t")
            case UInt8(ascii: "\n"): buffer.writeString("\\n")
            case UInt8(ascii: "\r"): buffer.writeString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    /// `yyyy-MM-dd HH:mm:ss.ffffff+00`, computed from the Unix time (civil-from-days) rather than
    /// through a formatter: a million rows format in milliseconds.
    static func timestamp(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let (year, month, day) = RFC3339.civil(fromDays: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let micro = String(fraction)
        return "\(year)-\(two(month))-\(two(day)) \(two(rest / 3_600)):\(two(rest / 60 % 60)):\(two(rest % 60))."
            + String(repeating: "0", count: 6 - micro.count) + micro + "+00"
    }

    /// A JSON object of strings, keys sorted.
    static func json(_ values: [String: String]) -> String {
        var out = "{"
        for (index, key) in values.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            out += quoted(key) + ":" + quoted(values[key]!)
        }
        return out + "}"
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
