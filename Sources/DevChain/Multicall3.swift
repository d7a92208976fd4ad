import EVM

/// Multicall3 at its canonical address, deployed beside the x402 contracts: x402's Python
/// facilitator reads channel state through `tryAggregate`.
enum Multicall3 {
    static let address = try! Address("0xcA11bde05977b3631167028862bE2a173976CA11")
    static let tryAggregate = ABI.selector("tryAggregate(bool,(address,bytes)[])")
    static let aggregate3 = ABI.selector("aggregate3((address,bool,bytes)[])")
}

extension WorldState {
    /// `tryAggregate(requireSuccess, calls)` and `aggregate3(calls)`: each call runs as the multicall
    /// contract; a failed one is undone alone unless failure is not allowed, which reverts everything.
    mutating func executeMulticall3(_ calldata: [UInt8], context: CallContext) -> ExecutionOutcome {
        guard calldata.count >= 4 else { return .revertEmpty(gas: Gas.revert) }
        let selector = Array(calldata[0..<4])
        let arguments = calldata[4...]
        typealias Call = (target: Address, allowFailure: Bool, data: [UInt8])
        let decoded: [Call]?
        switch selector {
        case Multicall3.tryAggregate:
            let a = try? ABI.decode([.bool, .array(.tuple([.address, .bytes]))], from: arguments)
            decoded = a.map { a in a[1].elements!.map { ($0.elements![0].address!, !a[0].bool!, $0.elements![1].bytes!) } }
        case Multicall3.aggregate3:
            let a = try? ABI.decode([.array(.tuple([.address, .bool, .bytes]))], from: arguments)
            decoded = a.map { a in a[0].elements!.map { ($0.elements![0].address!, $0.elements![1].bool!, $0.elements![2].bytes!) } }
        default:
            decoded = nil
        }
        guard let calls = decoded else { return .revertEmpty(gas: Gas.revert) }
        var world = self
        var results: [ABIValue] = []
        var logs: [DevChainLog] = []
        var gas = Gas.view
        let inner = CallContext(sender: Multicall3.address, timestamp: context.timestamp, chainID: context.chainID)
        for call in calls {
            let outcome = world.call(call.target, call.data, context: inner)
            gas += outcome.gas
            guard outcome.succeeded || call.allowFailure else {
                return .revert("Multicall3: call failed", gas: gas)
            }
            logs += outcome.logs
            results.append(.tuple([.bool(outcome.succeeded), .bytes(outcome.output)]))
        }
        self = world
        return .success(ABI.encode([.array(results)]), logs: logs, gas: gas)
    }
}
