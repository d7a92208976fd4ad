import EVM

/// Message calls between the natively implemented contracts: one dispatch by address for
/// transactions, `eth_call`, Tempo's batched calls and contract-to-contract calls.
extension WorldState {
    /// Who calls, when, on which chain (and Tempo's expiring-nonce hash).
    typealias CallContext = ChannelEscrowState.CallContext

    /// Whether an address holds a contract (what `eth_getCode` reports).
    func hasCode(_ address: Address) -> Bool {
        tokens[address] != nil || escrows[address] != nil || batchSettlement?.address == address
            || (batchSettlement != nil && (address == BatchSettlement.erc3009DepositCollector || address == Multicall3.address))
            || (permit2 != nil && (address == permit2?.address || address == Permit2.uptoProxy))
            || (permit2 != nil && batchSettlement != nil && address == BatchSettlement.permit2DepositCollector)
    }

    /// Runs `data` against the contract at `to` as `context.sender`. On revert `self` is left
    /// untouched; an address without code accepts the call and does nothing.
    mutating func call(_ to: Address, _ data: [UInt8], value: UInt256 = .zero, context: CallContext) -> ExecutionOutcome {
        if var token = tokens[to] {
            let outcome = token.execute(data, context: .init(sender: context.sender, timestamp: context.timestamp, value: value))
            if outcome.succeeded { tokens[to] = token }
            return outcome
        }
        if escrows[to] != nil {
            guard value.isZero else { return .revertEmpty(gas: Gas.revert) }
            return executeEscrow(at: to, data, context: context)
        }
        if batchSettlement?.address == to {
            guard value.isZero else { return .revertEmpty(gas: Gas.revert) }
            return executeBatchSettlement(data, context: context)
        }
        if to == BatchSettlement.erc3009DepositCollector || to == BatchSettlement.permit2DepositCollector, hasCode(to) {
            // `collect` is only for the settlement contract, which runs it natively (see `deposit`).
            return .customError(BatchSettlementState.Failure.onlyX402BatchSettlement, [], gas: Gas.revert)
        }
        if batchSettlement != nil && to == Multicall3.address {
            return executeMulticall3(data, context: context)
        }
        if let permit2, to == permit2.address || to == Permit2.uptoProxy {
            guard value.isZero else { return .revertEmpty(gas: Gas.revert) }
            return to == permit2.address ? executePermit2(data, context: context) : executeUptoProxy(data, context: context)
        }
        return .success(gas: 0)
    }
}
