import EVM

/// A JSON-RPC 2.0 error object.
struct JSONRPCError: Error, Sendable, Hashable {
    var code: Int
    var message: String
    var data: RPCValue?

    static let parseError = -32700
    static let invalidRequest = -32600
    static let methodNotFound = -32601
    static let invalidParamsCode = -32602
    static let internalError = -32603
    /// geth's code for transaction pool and most execution errors.
    static let serverError = -32000
    /// geth's code for `execution reverted`, with the revert data in `data`.
    static let executionRevertedCode = 3
    /// EIP-7966: `eth_sendRawTransactionSync` pooled the transaction but it was not mined in time.
    static let syncTimeoutCode = 4

    static func invalidParams(_ message: String) -> JSONRPCError { JSONRPCError(code: invalidParamsCode, message: message) }

    /// The JSON-RPC form of a chain error.
    init(_ error: DevChainError) {
        switch error.code {
        case .executionReverted:
            self.init(code: Self.executionRevertedCode, message: error.message, data: .data(error.revertData ?? []))
        case .syncTimeout:
            self.init(code: Self.syncTimeoutCode, message: error.message)
        case .invalidParams, .unknownToken, .unknownSnapshot, .invalidConfiguration:
            self.init(code: Self.invalidParamsCode, message: error.message)
        default:
            self.init(code: Self.serverError, message: error.message)
        }
    }

    init(code: Int, message: String, data: RPCValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    var json: RPCValue {
        var object: [String: RPCValue] = ["code": .number(Double(code)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }
}
