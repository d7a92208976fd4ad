import ArgumentParser
import DevChain
import EVM
import Foundation
import Ledger
import Logging
import RailKit
import ServiceLifecycle
import TempoRail

/// `settle bench tempo`: Tempo transaction decode + sender recovery against libsecp256k1's bare
/// recovery rate in the same run (goal ≥ 0.90), and TIP-20 charges per second from signed bytes to
/// booked final: sent over JSON-RPC to an in-process Tempo dev chain (automine), then pulled and
/// booked by the Tempo rail. Run a release build.
struct TempoBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tempo", abstract: "Benchmark Tempo transaction decoding and TIP-20 charges booked by the Tempo rail.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Seconds of measurement for the decode + recovery ratio.") var seconds = 3.0
    @Option(help: "TIP-20 charges sent and booked.") var charges = 2_000
    @Option(help: "Concurrent agents (each its own key) sending the charges.") var agents = 16
    @Flag(help: "Print the figures as one JSON object.") var json = false

    struct Figures: Encodable {
        var secp256k1_recover_per_s: Double
        var tempo_decode_recover_per_s: Double
        var ratio: Double
        var charges: Int
        var agents: Int
        var charges_accepted_per_s: Double
        var charges_booked_final_per_s: Double
    }

    func validate() throws {
        guard seconds > 0, charges >= 1, agents >= 1 else { throw ValidationError("--seconds, --charges and --agents must be positive") }
    }

    static let pathUSD = TokenConfiguration.pathUSD.address

    static func charge(_ key: PrivateKey, to merchant: Address, amount: UInt64, memo: Hash32, lane: UInt64, nonce: UInt64 = 0)
        -> SignedTempoTransaction
    {
        let call = ABI.encodeCall(
            "transferWithMemo(address,uint256,bytes32)", [.address(merchant), .uint(UInt256(amount)), .bytes32(memo)])
        return TempoTransaction(
            chainID: 42431, maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000,
            calls: [TempoCall(to: pathUSD, input: call)], nonceKey: UInt256(lane), nonce: nonce, feeToken: pathUSD
        ).signed(with: key)
    }

    func run() async throws {
        // 1. Decode + recover, interleaved with libsecp256k1 alone so both see the same machine load.
        var raws: [[UInt8]] = []
        var digests: [Hash32] = []
        var compact: [UInt8] = []
        var recoveryIDs: [Int32] = []
        for index in 0..<1024 {
            let key = PrivateKey.random()
            let signed = Self.charge(key, to: key.address, amount: UInt64(index + 1), memo: Keccak256.hash(key.bytes), lane: 1)
            guard case .secp256k1(let signature) = signed.senderSignature else { continue }
            raws.append(signed.rawBytes)
            digests.append(signed.transaction.senderSigningHash)
            compact += signature.r.bytes + signature.s.bytes
            recoveryIDs.append(Int32(signature.recoveryID))
        }
        let slices = max(2, Int(seconds * 20))
        var raw = (iterations: 0, elapsed: 0.0)
        var module = (iterations: 0, elapsed: 0.0)
        for _ in 0..<slices {
            let r = EVMBench.rawRecover(digests: digests, compact: compact, recoveryIDs: recoveryIDs, seconds: seconds / Double(slices))
            raw = (raw.iterations + r.iterations, raw.elapsed + r.elapsed)
            let m = try Self.decodeRecover(raws, seconds: seconds / Double(slices))
            module = (module.iterations + m.iterations, module.elapsed + m.elapsed)
        }
        let rawRate = Double(raw.iterations) / raw.elapsed
        let moduleRate = Double(module.iterations) / module.elapsed

        // 2. Charges accepted by the chain and booked final by the rail.
        let options = self
        let (accepted, booked) = try await db.withLedger(connections: 8) { ledger in try await options.charges(ledger) }
        let figures = Figures(
            secp256k1_recover_per_s: rawRate.rounded(), tempo_decode_recover_per_s: moduleRate.rounded(),
            ratio: (moduleRate / rawRate * 1000).rounded() / 1000, charges: charges, agents: agents,
            charges_accepted_per_s: accepted.rounded(), charges_booked_final_per_s: booked.rounded())
        if json {
            print(try JSONCoding.line(figures))
        } else {
            func f(_ x: Double) -> String { x.formatted(.number.precision(.fractionLength(0...3))) }
            print("settle bench tempo")
            print("  libsecp256k1 parse + recover             : \(f(figures.secp256k1_recover_per_s)) /s")
            print(
                "  Tempo 0x76 decode + sender recovery      : \(f(figures.tempo_decode_recover_per_s)) /s (ratio \(f(figures.ratio)), goal ≥ 0.90)"
            )
            print(
                "  TIP-20 charges accepted (JSON-RPC)       : \(f(figures.charges_accepted_per_s)) /s (\(charges) charges, \(agents) agents)"
            )
            print("  TIP-20 charges accepted and booked final : \(f(figures.charges_booked_final_per_s)) /s")
        }
    }

    /// The whole path a node takes for a raw transaction: RLP decode, sender preimage, Keccak, recover.
    static func decodeRecover(_ raws: [[UInt8]], seconds: Double) throws -> (iterations: Int, elapsed: Double) {
        try EVMBench.timed(seconds: seconds, count: raws.count) { slot in
            try SignedTempoTransaction(raw: raws[slot]).recoverSender().withUnsafeBytes { $0[0] }
        }
    }

    /// Sends `charges` TIP-20 transfers with memos over JSON-RPC from `agents` keys, then syncs the
    /// Tempo rail until every one is booked; returns (accepted per second, booked final per second).
    func charges(_ ledger: PostgresLedger) async throws -> (Double, Double) {
        var logger = db.logger
        logger.logLevel = .error
        var configuration = DevChainConfiguration.tempo(port: 0)
        configuration.blockTime = .zero
        configuration.automine = true
        let chain = try DevChain(configuration: configuration)
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { sink.yield(DevChainServer.boundPort($0) ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CommandFailure(description: "the Tempo dev chain did not start") }
        let url = "http://127.0.0.1:\(port)"
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let merchant = PrivateKey.random().address
        let rail = try TempoRail(
            configuration: RailConfiguration(
                id: "bench-tempo-\(tag)", kind: "tempo",
                settings: [
                    "rpc_url": .string(url), "network": .string("eip155:42431"),
                    "tokens": .array([.string("pathusd-42431=\(Self.pathUSD.checksummed)=pathUSD")]),
                    "addresses": .array([.string(merchant.checksummed)]),
                ]), logger: logger)
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)
        let keys = (0..<agents).map { _ in PrivateKey.random() }
        for key in keys { try await chain.fund(key.address, ether: .zero, token: Self.pathUSD, tokenAmount: 1_000_000_000_000) }
        // Signed beforehand: the figure is the chain's and the rail's, not the signer's.
        let perAgent = (charges + agents - 1) / agents
        let batches: [[[UInt8]]] = keys.enumerated().map { agent, key in
            (0..<min(perAgent, max(0, charges - agent * perAgent))).map { index in
                Self.charge(
                    key, to: merchant, amount: 1_000, memo: Keccak256.hash(key.bytes + Array(String(index).utf8)), lane: 1,
                    nonce: UInt64(index)
                )
                .rawBytes
            }
        }
        let rpc = EthereumRPC(url: url, configuration: .init(timeout: .seconds(30), maxAttempts: 1))
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for batch in batches {
                tasks.addTask {
                    // One agent's charges share a nonce lane: sent in order.
                    for raw in batch { _ = try await rpc.sendRawTransaction(raw) }
                }
            }
            try await tasks.waitForAll()
        }
        let acceptedAt = clock.now
        var booked = 0
        while booked < charges {
            let report = try await booker.sync(rail, pageSize: 2_000)
            guard report.rejected.isEmpty else { throw CommandFailure(description: "the rail rejected charges: \(report)") }
            booked += report.created
            if report.created == 0 && booked < charges {
                throw CommandFailure(description: "the rail booked \(booked) of \(charges) charges and found no more")
            }
        }
        let end = clock.now
        await group.triggerGracefulShutdown()
        try await task.value
        return (Double(charges) / EVMBench.seconds(acceptedAt - start), Double(charges) / EVMBench.seconds(end - start))
    }
}
