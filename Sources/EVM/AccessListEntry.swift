/// An EIP-2930 access list entry: an address and storage keys the transaction will touch.
public struct AccessListEntry: Sendable, Hashable {
    public var address: Address
    public var storageKeys: [Hash32]

    public init(address: Address, storageKeys: [Hash32] = []) {
        self.address = address
        self.storageKeys = storageKeys
    }

    var rlp: RLPItem { .list([.address(address), .list(storageKeys.map { .bytes($0.bytes) })]) }

    init(rlp: RLPItem) throws(EVMError) {
        let parts = try rlp.listValue()
        guard parts.count == 2 else { throw EVMError(.invalidTransaction, "an access list entry has 2 items, got \(parts.count)") }
        address = try parts[0].addressValue()
        storageKeys = try parts[1].listValue().map { key throws(EVMError) in
            let bytes = try key.bytesValue()
            guard bytes.count == 32 else { throw EVMError(.invalidTransaction, "a storage key has 32 bytes, got \(bytes.count)") }
            return try Hash32(bytes: bytes)
        }
    }
}
