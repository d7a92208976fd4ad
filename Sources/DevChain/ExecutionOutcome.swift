import EVM

/// The result of running a call against a token contract.
struct ExecutionOutcome: Sendable, Hashable {
    /// True unless the call reverted.
    var succeeded: Bool
    /// The return data, or the revert data when the call reverted.
    var output: [UInt8]
    /// Events, in order; empty when the call reverted, except for a Tempo transaction's fee
    /// `Transfer`, which the node emits after the calls whatever their outcome.
    var logs: [DevChainLog]
    /// Gas the execution consumed beyond the intrinsic gas of the transaction.
    var gas: UInt64

    static func success(_ output: [UInt8] = [], logs: [DevChainLog] = [], gas: UInt64) -> ExecutionOutcome {
        ExecutionOutcome(succeeded: true, output: output, logs: logs, gas: gas)
    }

    /// `revert("message")`: `Error(string)` data.
    static func revert(_ message: String, gas: UInt64) -> ExecutionOutcome {
        ExecutionOutcome(succeeded: false, output: Self.errorData(message), logs: [], gas: gas)
    }

    /// `revert CustomError(args)`: the error's selector and ABI-encoded arguments.
    static func customError(_ signature: String, _ arguments: [ABIValue], gas: UInt64) -> ExecutionOutcome {
        ExecutionOutcome(succeeded: false, output: ABI.selector(signature) + ABI.encode(arguments), logs: [], gas: gas)
    }

    /// A revert without data (invalid calldata, unknown selector, value sent to a non-payable function).
    static func revertEmpty(gas: UInt64) -> ExecutionOutcome {
        ExecutionOutcome(succeeded: false, output: [], logs: [], gas: gas)
    }

    /// ABI `Error(string)` revert data.
    static func errorData(_ message: String) -> [UInt8] {
        RevertReason.errorSelector + ABI.encode([.string(message)])
    }
}

/// Gas accounting: intrinsic gas as the protocol defines it, and a fixed execution cost per token
/// function close to what FiatToken v2.2 spends (the dev chain has no interpreter to meter).
enum Gas {
    static let transaction: UInt64 = 21_000
    static let zeroByte: UInt64 = 4
    static let nonZeroByte: UInt64 = 16

    /// 21000 plus 4 per zero and 16 per non-zero calldata byte.
    static func intrinsic(_ data: [UInt8]) -> UInt64 {
        data.reduce(transaction) { $0 + ($1 == 0 ? zeroByte : nonZeroByte) }
    }

    static let view: UInt64 = 2_600
    static let revert: UInt64 = 2_400
    static let transfer: UInt64 = 29_500
    static let approve: UInt64 = 24_400
    static let transferFrom: UInt64 = 34_800
    static let authorizedTransfer: UInt64 = 56_000
    static let cancelAuthorization: UInt64 = 32_000
}
