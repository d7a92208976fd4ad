import EVM
import RailKit

/// Token balances of watched addresses as of the end of a past block, read the way any node
/// allows: `balanceOf` at the head, less what the Transfer logs since that block moved in, plus
/// what they moved out. A node keeps logs for ever but state only for its last blocks, so a
/// nightly reconciliation of yesterday must not depend on an archive node.
struct TokenBalanceHistory {
    let rpc: EthereumRPC
    let network: String
    let maxBlockRange: UInt64

    /// The balance of each of `owners` in `token` once block `through` was applied (nil: before
    /// block 0, i.e. what genesis allocated), computed from the state at `head`.
    func balances(token: Address, owners: [Address], through: UInt64?, head: UInt64) async throws(RailError) -> [Address: UInt256] {
        var atHead: [Address: UInt256] = [:]
        for owner in owners {
            let word = try await chain {
                try await rpc.call(
                    CallRequest(to: token, data: ABI.encodeCall("balanceOf(address)", [.address(owner)])), block: .number(head))
            }
            guard word.count == 32, let value = try? UInt256(bigEndian: word) else {
                throw RailError(
                    .protocolViolation, "\(network): balanceOf(\(owner.checksummed)) on \(token.checksummed) returned \(word.count) bytes")
            }
            atHead[owner] = value
        }
        var movedIn: [Address: UInt256] = [:]
        var movedOut: [Address: UInt256] = [:]
        let watched = owners.map(\.word)
        var start = through.map { $0 + 1 } ?? 0
        while start <= head {
            let end = min(head, start + maxBlockRange - 1)
            let range = (from: BlockTag.number(start), to: BlockTag.number(end))
            let incoming = try await chain {
                try await rpc.logs(
                    LogFilter(fromBlock: range.from, toBlock: range.to, addresses: [token], topics: [[TransferEvent.topic], nil, watched]))
            }
            let outgoing = try await chain {
                try await rpc.logs(
                    LogFilter(fromBlock: range.from, toBlock: range.to, addresses: [token], topics: [[TransferEvent.topic], watched, nil]))
            }
            for log in incoming where !log.removed {
                guard let event = try? TransferEvent(log: log), atHead[event.to] != nil else { continue }
                movedIn[event.to] = try sum(movedIn[event.to] ?? .zero, event.value)
            }
            for log in outgoing where !log.removed {
                guard let event = try? TransferEvent(log: log), atHead[event.from] != nil else { continue }
                movedOut[event.from] = try sum(movedOut[event.from] ?? .zero, event.value)
            }
            start = end + 1
        }
        var result: [Address: UInt256] = [:]
        for (owner, balance) in atHead {
            let before = try sum(balance, movedOut[owner] ?? .zero)
            let (value, underflow) = before.subtractingReportingOverflow(movedIn[owner] ?? .zero)
            guard !underflow else {
                throw RailError(
                    .protocolViolation,
                    "\(network): \(owner.checksummed) received more of \(token.checksummed) since the block than it holds")
            }
            result[owner] = value
        }
        return result
    }

    private func sum(_ a: UInt256, _ b: UInt256) throws(RailError) -> UInt256 {
        let (value, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw RailError(.protocolViolation, "\(network): token amounts overflow 2^256") }
        return value
    }

    private func chain<T>(_ body: () async throws -> T) async throws(RailError) -> T {
        do { return try await body() } catch { throw RailError(.transport, "\(network): \(error)") }
    }
}
