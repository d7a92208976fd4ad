/// Which block a JSON-RPC call reads.
public enum BlockTag: Sendable, Hashable {
    case latest
    case pending
    case earliest
    case safe
    case finalized
    case number(UInt64)

    var rpcValue: RPCValue {
        switch self {
        case .latest: .string("latest")
        case .pending: .string("pending")
        case .earliest: .string("earliest")
        case .safe: .string("safe")
        case .finalized: .string("finalized")
        case .number(let number): .quantity(number)
        }
    }
}
