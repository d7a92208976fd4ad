import CSecp256k1

/// The process's one libsecp256k1 context.
///
/// Creating a context costs tens of microseconds and randomizing it is what blinds signing against
/// side channels, so it is done once. After `secp256k1_context_randomize` the context is only read,
/// which libsecp256k1 documents as safe from any number of threads: hence `@unchecked Sendable`.
struct Secp256k1Context: @unchecked Sendable {
    let pointer: OpaquePointer

    static let shared = Secp256k1Context()

    private init() {
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
            fatalError("secp256k1_context_create failed")
        }
        var seed = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in seed.indices { seed[index] = generator.next() }
        let randomized = secp256k1_context_randomize(context, seed)
        precondition(randomized == 1, "secp256k1_context_randomize failed")
        pointer = context
    }
}

/// Constants of the secp256k1 curve that the Ethereum rules need.
enum Secp256k1Curve {
    /// The group order n.
    static let order = try! UInt256(hex: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
    /// n / 2: EIP-2 accepts s only up to this value.
    static let halfOrder = try! UInt256(hex: "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0")
}
