/// Why a call reverted, decoded from its return data.
public enum RevertReason: Sendable, Hashable, CustomStringConvertible {
    /// `revert()` or `require(cond)` without a message: no data.
    case empty
    /// `Error(string)`: `require(cond, "message")` and `revert("message")`.
    case error(String)
    /// `Panic(uint256)`: assertion failures, arithmetic overflow, division by zero…
    case panic(UInt256)
    /// A custom error (or malformed data): its 4-byte selector and the ABI-encoded arguments.
    case custom(selector: [UInt8], data: [UInt8])

    /// The selector of `Error(string)`: `0x08c379a0`.
    public static let errorSelector: [UInt8] = [0x08, 0xc3, 0x79, 0xa0]
    /// The selector of `Panic(uint256)`: `0x4e487b71`.
    public static let panicSelector: [UInt8] = [0x4e, 0x48, 0x7b, 0x71]

    /// Classifies revert data. Never throws: data that claims to be `Error(string)` but does not
    /// decode is kept as ``custom(selector:data:)`` so that nothing is lost.
    public init(data: some Collection<UInt8>) {
        let data = Array(data)
        guard data.count >= 4 else {
            self = data.isEmpty ? .empty : .custom(selector: data, data: [])
            return
        }
        let selector = Array(data[0..<4])
        let arguments = Array(data[4...])
        if selector == Self.errorSelector, let message = (try? ABI.decode([.string], from: arguments))?.first?.string {
            self = .error(message)
        } else if selector == Self.panicSelector, let code = (try? ABI.decode([.uint256], from: arguments))?.first?.uint {
            self = .panic(code)
        } else {
            self = .custom(selector: selector, data: arguments)
        }
    }

    public var description: String {
        switch self {
        case .empty: "reverted without data"
        case .error(let message): message
        case .panic(let code): "panic 0x\(String(code.hexQuantity.dropFirst(2)))"
        case .custom(let selector, let data): "custom error \(Hex.encode(selector)) \(Hex.encode(data))"
        }
    }
}
