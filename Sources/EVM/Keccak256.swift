/// Keccak-256 as Ethereum uses it (the original Keccak padding `0x01`, not FIPS 202 SHA3-256's `0x06`).
///
/// Signature checks hash on their hot path (one digest per EIP-712 struct, one per recovered public
/// key), so the sponge state lives in a value (no heap) and the permutation works on 25 local
/// `UInt64` lanes with each round's steps written out.
public struct Keccak256: Sendable {
    /// The rate of Keccak-256 in bytes: 1600 - 2 × 256 bits.
    static let rate = 136

    // Lanes in the order x + 5y, as the spec indexes them.
    private var state:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    // Bytes already absorbed into the current block.
    private var offset = 0

    /// A hasher with nothing absorbed yet.
    public init() {}

    /// The digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Hash32 {
        var hasher = Keccak256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of `bytes`.
    @inlinable
    public static func hash(_ bytes: some Sequence<UInt8>) -> Hash32 {
        var hasher = Keccak256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of a string's UTF-8 bytes (how Solidity hashes type and function signatures).
    public static func hash(_ string: String) -> Hash32 {
        var string = string
        return string.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// Absorbs more bytes.
    @inlinable
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { update($0) }
        }
    }

    /// Absorbs more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var input = bytes[...]
        while !input.isEmpty {
            if offset == 0 && input.count >= Self.rate {
                absorbBlock(UnsafeRawBufferPointer(rebasing: input.prefix(Self.rate)))
                permute()
                input = input.dropFirst(Self.rate)
                continue
            }
            if offset % 8 == 0 && input.count >= 8 {
                xorLane(UInt64(littleEndian: UnsafeRawBufferPointer(rebasing: input).loadUnaligned(as: UInt64.self)), at: offset / 8)
                input = input.dropFirst(8)
                offset += 8
            } else {
                xorByte(input.first!, at: offset)
                input = input.dropFirst()
                offset += 1
            }
            if offset == Self.rate {
                permute()
                offset = 0
            }
        }
    }

    /// Pads, runs the last permutation and returns the digest.
    public consuming func finalize() -> Hash32 {
        xorByte(0x01, at: offset)
        xorByte(0x80, at: Self.rate - 1)
        permute()
        // Lanes are little-endian: the digest's bytes are lanes 0...3 written out least significant first.
        return Hash32(storage: (state.0.littleEndian, state.1.littleEndian, state.2.littleEndian, state.3.littleEndian))
    }

    @inline(__always)
    private mutating func xorByte(_ byte: UInt8, at position: Int) {
        withUnsafeMutableBytes(of: &state) { raw in
            let lane = raw.baseAddress!.advanced(by: (position / 8) * 8).assumingMemoryBound(to: UInt64.self)
            lane.pointee ^= UInt64(byte) << UInt64((position % 8) * 8)
        }
    }

    @inline(__always)
    private mutating func xorLane(_ value: UInt64, at index: Int) {
        withUnsafeMutableBytes(of: &state) { raw in
            raw.baseAddress!.advanced(by: index * 8).assumingMemoryBound(to: UInt64.self).pointee ^= value
        }
    }

    @inline(__always)
    private mutating func absorbBlock(_ block: UnsafeRawBufferPointer) {
        @inline(__always) func lane(_ index: Int) -> UInt64 {
            UInt64(littleEndian: block.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
        }
        state.0 ^= lane(0)
        state.1 ^= lane(1)
        state.2 ^= lane(2)
        state.3 ^= lane(3)
        state.4 ^= lane(4)
        state.5 ^= lane(5)
        state.6 ^= lane(6)
        state.7 ^= lane(7)
        state.8 ^= lane(8)
        state.9 ^= lane(9)
        state.10 ^= lane(10)
        state.11 ^= lane(11)
        state.12 ^= lane(12)
        state.13 ^= lane(13)
        state.14 ^= lane(14)
        state.15 ^= lane(15)
        state.16 ^= lane(16)
    }

    private static let roundConstants: [UInt64] = [
        0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000, 0x000000000000808B,
        0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008A, 0x0000000000000088,
        0x0000000080008009, 0x000000008000000A, 0x000000008000808B, 0x800000000000008B, 0x8000000000008089,
        0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
        0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
    ]

    /// Keccak-f[1600]: 24 rounds of θ, ρ, π, χ, ι over the 25 lanes held in locals.
    private mutating func permute() {
        var (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) = (
            state.0, state.1, state.2, state.3, state.4, state.5, state.6, state.7, state.8, state.9, state.10, state.11, state.12
        )
        var (a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24) = (
            state.13, state.14, state.15, state.16, state.17, state.18, state.19, state.20, state.21, state.22, state.23, state.24
        )
        let roundConstants = Self.roundConstants
        for round in 0..<24 {
            // θ: column parities, each lane mixed with two neighbouring columns.
            let c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20
            let c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21
            let c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22
            let c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23
            let c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24
            let d0 = c4 ^ rotl(c1, 1)
            let d1 = c0 ^ rotl(c2, 1)
            let d2 = c1 ^ rotl(c3, 1)
            let d3 = c2 ^ rotl(c4, 1)
            let d4 = c3 ^ rotl(c0, 1)
            // ρ and π: rotate each lane and move it, fused with θ's final xor.
            let b0 = a0 ^ d0
            let b16 = rotl(a5 ^ d0, 36)
            let b7 = rotl(a10 ^ d0, 3)
            let b23 = rotl(a15 ^ d0, 41)
            let b14 = rotl(a20 ^ d0, 18)
            let b10 = rotl(a1 ^ d1, 1)
            let b1 = rotl(a6 ^ d1, 44)
            let b17 = rotl(a11 ^ d1, 10)
            let b8 = rotl(a16 ^ d1, 45)
            let b24 = rotl(a21 ^ d1, 2)
            let b20 = rotl(a2 ^ d2, 62)
            let b11 = rotl(a7 ^ d2, 6)
            let b2 = rotl(a12 ^ d2, 43)
            let b18 = rotl(a17 ^ d2, 15)
            let b9 = rotl(a22 ^ d2, 61)
            let b5 = rotl(a3 ^ d3, 28)
            let b21 = rotl(a8 ^ d3, 55)
            let b12 = rotl(a13 ^ d3, 25)
            let b3 = rotl(a18 ^ d3, 21)
            let b19 = rotl(a23 ^ d3, 56)
            let b15 = rotl(a4 ^ d4, 27)
            let b6 = rotl(a9 ^ d4, 20)
            let b22 = rotl(a14 ^ d4, 39)
            let b13 = rotl(a19 ^ d4, 8)
            let b4 = rotl(a24 ^ d4, 14)
            // χ: the only non-linear step, row by row.
            a0 = b0 ^ (~b1 & b2)
            a1 = b1 ^ (~b2 & b3)
            a2 = b2 ^ (~b3 & b4)
            a3 = b3 ^ (~b4 & b0)
            a4 = b4 ^ (~b0 & b1)
            a5 = b5 ^ (~b6 & b7)
            a6 = b6 ^ (~b7 & b8)
            a7 = b7 ^ (~b8 & b9)
            a8 = b8 ^ (~b9 & b5)
            a9 = b9 ^ (~b5 & b6)
            a10 = b10 ^ (~b11 & b12)
            a11 = b11 ^ (~b12 & b13)
            a12 = b12 ^ (~b13 & b14)
            a13 = b13 ^ (~b14 & b10)
            a14 = b14 ^ (~b10 & b11)
            a15 = b15 ^ (~b16 & b17)
            a16 = b16 ^ (~b17 & b18)
            a17 = b17 ^ (~b18 & b19)
            a18 = b18 ^ (~b19 & b15)
            a19 = b19 ^ (~b15 & b16)
            a20 = b20 ^ (~b21 & b22)
            a21 = b21 ^ (~b22 & b23)
            a22 = b22 ^ (~b23 & b24)
            a23 = b23 ^ (~b24 & b20)
            a24 = b24 ^ (~b20 & b21)
            // ι
            a0 ^= roundConstants[round]
        }
        state = (
            a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24
        )
    }
}

@inline(__always)
private func rotl(_ x: UInt64, _ n: UInt64) -> UInt64 { (x &<< n) | (x &>> (64 &- n)) }
