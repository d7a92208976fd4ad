import ArgumentParser
import CSecp256k1
import EVM
import Foundation

/// `settle bench evm`: how close the EVM module's signature recovery gets to libsecp256k1's own
/// recovery rate, and the latency of a full EIP-3009 check. Run a release build.
struct EVMBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evm", abstract: "Benchmark signature recovery and EIP-3009 verification.")

    @Option(help: "Seconds of measurement for each of the three figures.") var seconds = 3.0
    @Flag(help: "Print the figures as one JSON object.") var json = false

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    struct Figures: Encodable {
        var secp256k1_recover_per_s: Double
        var evm_recover_per_s: Double
        var ratio: Double
        var eip3009_verify_p50_us: Double
        var eip3009_verify_p99_us: Double
        var eip3009_verify_samples: Int
        var keccak256_64b_per_s: Double
        var seconds: Double
    }

    /// Signed material made once, so that the timed loops only recover.
    struct Fixture {
        var digests: [Hash32]
        var signatures: [[UInt8]]
        var compact: [UInt8]  // r ‖ s of every signature, 64 bytes each
        var recoveryIDs: [Int32]
        var authorizations: [TransferWithAuthorization]
        var authorizationSignatures: [[UInt8]]
        var domain: TokenDomain

        init(count: Int) throws {
            domain = TokenDomain(
                name: "USD Coin", version: "2", chainID: 8453, verifyingContract: try Address("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"))
            digests = []
            signatures = []
            compact = []
            recoveryIDs = []
            authorizations = []
            authorizationSignatures = []
            for index in 0..<count {
                let key = PrivateKey.random()
                let digest = Keccak256.hash(key.bytes + [UInt8(index & 0xff)])
                let signature = key.sign(digest: digest)
                digests.append(digest)
                signatures.append(signature.bytes)
                compact += signature.r.bytes + signature.s.bytes
                recoveryIDs.append(Int32(signature.recoveryID))
                let authorization = TransferWithAuthorization(
                    from: key.address, to: try Address("0x209693Bc6afc0C5328bA36FaF03C514EF312287C"), value: UInt256(UInt64(index) + 1),
                    validAfter: 0, validBefore: 1_800_000_000, nonce: Keccak256.hash(digest.bytes))
                authorizations.append(authorization)
                authorizationSignatures.append(authorization.sign(with: key, in: domain).bytes)
            }
        }
    }

    func run() async throws {
        let fixture = try Fixture(count: 1024)
        // Interleave the two rate measurements in short slices and add them up, so that both see
        // the same load from elsewhere on the machine and the ratio compares like with like.
        let slices = max(2, Int(seconds * 20))
        var raw = (iterations: 0, elapsed: 0.0)
        var module = (iterations: 0, elapsed: 0.0)
        for _ in 0..<slices {
            let r = Self.rawRecover(
                digests: fixture.digests, compact: fixture.compact, recoveryIDs: fixture.recoveryIDs, seconds: seconds / Double(slices))
            raw = (raw.iterations + r.iterations, raw.elapsed + r.elapsed)
            let m = try Self.moduleRecover(fixture, seconds: seconds / Double(slices))
            module = (module.iterations + m.iterations, module.elapsed + m.elapsed)
        }
        let rawRate = Double(raw.iterations) / raw.elapsed
        let moduleRate = Double(module.iterations) / module.elapsed
        let (p50, p99, samples) = try Self.eip3009Latency(fixture, seconds: seconds)
        let keccak = Self.keccakRate(seconds: min(seconds, 1))
        let figures = Figures(
            secp256k1_recover_per_s: rawRate.rounded(), evm_recover_per_s: moduleRate.rounded(),
            ratio: (moduleRate / rawRate * 1000).rounded() / 1000,
            eip3009_verify_p50_us: (p50 * 100).rounded() / 100, eip3009_verify_p99_us: (p99 * 100).rounded() / 100,
            eip3009_verify_samples: samples, keccak256_64b_per_s: keccak.rounded(), seconds: seconds)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(figures), as: UTF8.self))
        } else {
            func f(_ x: Double) -> String { x.formatted(.number.precision(.fractionLength(0...2))) }
            print("settle bench evm: \(f(seconds)) s per figure, 1024 distinct keys and signatures")
            print("  libsecp256k1 parse + recover          : \(f(figures.secp256k1_recover_per_s)) /s")
            print("  EVM recover address (digest, 65 bytes): \(f(figures.evm_recover_per_s)) /s (ratio \(f(figures.ratio)), goal ≥ 0.90)")
            print("  Keccak-256 of 64 bytes (a public key) : \(f(figures.keccak256_64b_per_s)) /s")
            print(
                "  EIP-3009 verify latency               : p50 \(f(figures.eip3009_verify_p50_us)) µs, p99 \(f(figures.eip3009_verify_p99_us)) µs (goal p99 ≤ 1000 µs)"
            )
        }
    }

    /// A context of our own for the raw loop (the module's is internal to it).
    struct RawContext: @unchecked Sendable {
        let pointer: OpaquePointer
    }
    static let rawContext: RawContext = {
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else { fatalError("secp256k1_context_create failed") }
        return RawContext(pointer: context)
    }()

    /// libsecp256k1 alone: parse the compact signature and recover the public key, nothing else.
    static func rawRecover(digests: [Hash32], compact: [UInt8], recoveryIDs: [Int32], seconds: Double) -> (iterations: Int, elapsed: Double)
    {
        let context = rawContext.pointer
        let count = digests.count
        let digestBytes = digests.flatMap(\.bytes)
        var recovered = 0
        var iterations = 0
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        compact.withUnsafeBufferPointer { compact in
            digestBytes.withUnsafeBufferPointer { digests in
                var signature = secp256k1_ecdsa_recoverable_signature()
                var key = secp256k1_pubkey()
                repeat {
                    for index in 0..<256 {
                        let slot = (iterations + index) % count
                        if secp256k1_ecdsa_recoverable_signature_parse_compact(
                            context, &signature, compact.baseAddress! + slot * 64, recoveryIDs[slot]) == 1,
                            secp256k1_ecdsa_recover(context, &key, &signature, digests.baseAddress! + slot * 32) == 1
                        {
                            recovered += 1
                        }
                    }
                    iterations += 256
                } while clock.now < deadline
            }
        }
        precondition(recovered == iterations, "every pre-made signature recovers")
        return (iterations, Self.seconds(clock.now - start))
    }

    /// Keccak-256 of 64 bytes, the size hashed for every recovered public key.
    static func keccakRate(seconds: Double) -> Double {
        var input = [UInt8](repeating: 0xab, count: 64)
        var iterations = 0
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        repeat {
            for _ in 0..<1024 {
                // Chaining makes each hash depend on the previous one, so none can be skipped.
                let digest = Keccak256.hash(input)
                input[0] = digest.withUnsafeBytes { $0[0] }
            }
            iterations += 1024
        } while clock.now < deadline
        return Double(iterations) / Self.seconds(clock.now - start)
    }

    /// The EVM module's whole path: parse 65 bytes, recover, serialize the key, Keccak, address.
    static func moduleRecover(_ fixture: Fixture, seconds: Double) throws -> (iterations: Int, elapsed: Double) {
        try timed(seconds: seconds, count: fixture.digests.count) { slot in
            try Signature(bytes: fixture.signatures[slot]).recoverAddress(from: fixture.digests[slot]).withUnsafeBytes { $0[0] }
        }
    }

    /// Runs `body` over slots `0..<count` in turn, in batches of 64, until `seconds` have passed; each
    /// call returns a byte of its result, folded into a checksum so the optimizer cannot drop the work.
    static func timed(seconds: Double, count: Int, _ body: (Int) throws -> UInt8) rethrows -> (iterations: Int, elapsed: Double) {
        var checksum: UInt8 = 0
        var iterations = 0
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        repeat {
            for index in 0..<64 { checksum ^= try body((iterations + index) % count) }
            iterations += 64
        } while clock.now < deadline
        if checksum == 0 && iterations < 0 { print(checksum) }
        return (iterations, Self.seconds(clock.now - start))
    }

    /// One verification as a facilitator does it: digest in the token's domain, parse the
    /// signature, recover, compare with `from`; timed one at a time.
    static func eip3009Latency(_ fixture: Fixture, seconds: Double) throws -> (p50: Double, p99: Double, samples: Int) {
        let count = fixture.authorizations.count
        let limit = 2_000_000
        var samples: [Double] = []
        samples.reserveCapacity(min(limit, 500_000))
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        var index = 0
        while samples.count < limit, index % 64 != 0 || clock.now < deadline {
            let slot = index % count
            let authorization = fixture.authorizations[slot]
            let bytes = fixture.authorizationSignatures[slot]
            let start = clock.now
            let signer = try authorization.recoverSigner(Signature(bytes: bytes), in: fixture.domain)
            let valid = signer == authorization.from
            let elapsed = clock.now - start
            guard valid else { throw ValidationError("authorization \(slot) did not verify") }
            samples.append(Self.seconds(elapsed) * 1_000_000)
            index += 1
        }
        samples.sort()
        func percentile(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
        return (percentile(0.50), percentile(0.99), samples.count)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
