import Foundation
import SettleTesting

/// A Python script that drives pympp 0.16.0's client (unmodified) against a Settle route: JSON on
/// its standard input, one JSON object on its standard output.
public struct PymppScript: Sendable {
    public let script: URL
    /// Why it cannot run here, or nil.
    public let unavailableReason: String?

    /// - Parameter imports: The modules the script needs, checked once.
    public init(_ script: URL, imports: String) {
        self.script = script
        guard let python = InteropPython.interpreter else {
            unavailableReason = "no Python found ($VIRTUAL_ENV/bin/python or .venv/bin/python)"
            return
        }
        do {
            _ = try runChildProcess(python, ["-c", "import \(imports)"])
            unavailableReason = nil
        } catch {
            unavailableReason = "\(python) cannot import \(imports): \(error)"
        }
    }

    /// On CI always enabled, so that a missing pympp fails loudly.
    public var enabled: Bool { unavailableReason == nil || InteropPython.isCI }

    /// Runs the script on a thread of its own (it talks to servers on this process's pool).
    public func run<Output: Decodable>(_ input: some Encodable, as: Output.Type = Output.self) async throws -> Output {
        if let unavailableReason { throw MPPTestFailure(unavailableReason) }
        guard let python = InteropPython.interpreter else { throw MPPTestFailure("no Python") }
        let data = try JSONEncoder().encode(input)
        let script = script.path
        let output = try await offPool { try runChildProcess(python, [script], input: data) }
        return try JSONDecoder().decode(Output.self, from: output)
    }
}

/// What the pympp scripts print of a receipt.
public struct PymppReceipt: Decodable, Sendable {
    public var status: String
    public var method: String
    public var reference: String
}

/// What the pympp scripts print of a problem document.
public struct PymppProblem: Decodable, Sendable {
    public var type: String
    public var status: Int
}
