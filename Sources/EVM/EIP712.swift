/// A member of an EIP-712 struct type: `type name`, e.g. `address wallet`.
public struct EIP712Field: Sendable, Hashable {
    public var name: String
    /// A Solidity type name: an atomic type (`address`, `bool`, `uintN`, `bytesN`), a dynamic one
    /// (`bytes`, `string`), a struct type's name, or any of these followed by `[]` or `[n]`.
    public var type: String

    public init(_ name: String, _ type: String) {
        self.name = name
        self.type = type
    }
}

/// A value of an EIP-712 field.
public indirect enum EIP712Value: Sendable, Hashable {
    case address(Address)
    /// Any `uintN`; hashing checks that it fits N bits.
    case uint(UInt256)
    case bool(Bool)
    /// `bytes` or `bytesN`.
    case bytes([UInt8])
    case string(String)
    /// A struct value: field name to value.
    case `struct`([String: EIP712Value])
    /// An array (`T[]` or `T[n]`).
    case array([EIP712Value])
}

/// A set of EIP-712 struct types, and the hashing the spec defines over them.
///
/// Signed integers (`intN`) are not supported: no payment struct uses them.
public struct EIP712Types: Sendable, Hashable {
    /// Struct name to its fields, in declaration order.
    public var structs: [String: [EIP712Field]]

    public init(_ structs: [String: [EIP712Field]]) { self.structs = structs }

    /// `encodeType`: the primary type's signature followed by those of every struct it references,
    /// directly or not, sorted by name.
    ///
    /// - Throws: ``EVMError/Code/invalidTypedData`` for an unknown type.
    public func encodeType(_ primaryType: String) throws(EVMError) -> String {
        var dependencies = Set<String>()
        try collectDependencies(of: primaryType, into: &dependencies)
        dependencies.remove(primaryType)
        return try ([primaryType] + dependencies.sorted()).map { name throws(EVMError) in
            let fields = try fields(of: name)
            return "\(name)(" + fields.map { "\($0.type) \($0.name)" }.joined(separator: ",") + ")"
        }.joined()
    }

    /// `typeHash` = keccak256(encodeType).
    public func typeHash(_ primaryType: String) throws(EVMError) -> Hash32 {
        Keccak256.hash(try encodeType(primaryType))
    }

    /// `hashStruct(s)` = keccak256(typeHash ‖ encodeData(s)).
    ///
    /// - Throws: ``EVMError/Code/invalidTypedData`` for an unknown type, a missing field, a value
    ///   of the wrong kind or out of its type's range.
    public func hashStruct(_ type: String, _ value: [String: EIP712Value]) throws(EVMError) -> Hash32 {
        var encoded = try typeHash(type).bytes
        for field in try fields(of: type) {
            guard let fieldValue = value[field.name] else {
                throw EVMError(.invalidTypedData, "\(type).\(field.name) has no value")
            }
            encoded += try encodeValue(fieldValue, type: field.type, path: "\(type).\(field.name)").bytes
        }
        return Keccak256.hash(encoded)
    }

    private func fields(of type: String) throws(EVMError) -> [EIP712Field] {
        guard let fields = structs[type] else { throw EVMError(.invalidTypedData, "unknown struct type \(type)") }
        return fields
    }

    private func collectDependencies(of type: String, into found: inout Set<String>) throws(EVMError) {
        let base = Self.baseType(type)
        guard structs[base] != nil, !found.contains(base) else { return }
        found.insert(base)
        for field in try fields(of: base) { try collectDependencies(of: field.type, into: &found) }
    }

    // `Person[2][]` → `Person`.
    private static func baseType(_ type: String) -> String {
        guard let bracket = type.firstIndex(of: "[") else { return type }
        return String(type[..<bracket])
    }

    // The 32-byte word a value contributes to its struct's encodeData.
    private func encodeValue(_ value: EIP712Value, type: String, path: String) throws(EVMError) -> Hash32 {
        if type.hasSuffix("]"), let open = type.lastIndex(of: "[") {
            guard case .array(let elements) = value else { throw mismatch(path, type) }
            let size = type[type.index(after: open)..<type.index(before: type.endIndex)]
            if !size.isEmpty {
                guard let count = Int(size), count == elements.count else {
                    throw EVMError(.invalidTypedData, "\(path) must have \(size) elements, has \(elements.count)")
                }
            }
            let elementType = String(type[..<open])
            var encoded: [UInt8] = []
            for (index, element) in elements.enumerated() {
                encoded += try encodeValue(element, type: elementType, path: "\(path)[\(index)]").bytes
            }
            return Keccak256.hash(encoded)
        }
        if structs[type] != nil {
            guard case .struct(let members) = value else { throw mismatch(path, type) }
            return try hashStruct(type, members)
        }
        switch (type, value) {
        case ("address", .address(let address)):
            return address.word
        case ("bool", .bool(let flag)):
            return UInt256(flag ? 1 : 0).word
        case ("string", .string(let string)):
            return Keccak256.hash(string)
        case ("bytes", .bytes(let bytes)):
            return Keccak256.hash(bytes)
        case (_, .uint(let integer)) where type.hasPrefix("uint"):
            guard let bits = Int(type.dropFirst(4)), bits % 8 == 0, (8...256).contains(bits) else {
                throw EVMError(.invalidTypedData, "\(path): invalid type \(type)")
            }
            guard integer.minimalBigEndianBytes.count * 8 <= bits else {
                throw EVMError(.invalidTypedData, "\(path): value does not fit \(type)")
            }
            return integer.word
        case (_, .bytes(let bytes)) where type.hasPrefix("bytes"):
            guard let count = Int(type.dropFirst(5)), (1...32).contains(count) else {
                throw EVMError(.invalidTypedData, "\(path): invalid type \(type)")
            }
            guard bytes.count == count else {
                throw EVMError(.invalidTypedData, "\(path): \(type) needs \(count) bytes, got \(bytes.count)")
            }
            return try Hash32(bytes: bytes + [UInt8](repeating: 0, count: 32 - count))
        default:
            throw mismatch(path, type)
        }
    }

    private func mismatch(_ path: String, _ type: String) -> EVMError {
        EVMError(.invalidTypedData, "\(path): value does not match type \(type) (or the type is unsupported)")
    }
}

/// The EIP-712 domain: whichever of its five fields are set, in the spec's order.
public struct EIP712Domain: Sendable, Hashable {
    public var name: String?
    public var version: String?
    public var chainID: UInt256?
    public var verifyingContract: Address?
    public var salt: Hash32?

    public init(
        name: String? = nil, version: String? = nil, chainID: UInt256? = nil, verifyingContract: Address? = nil, salt: Hash32? = nil
    ) {
        self.name = name
        self.version = version
        self.chainID = chainID
        self.verifyingContract = verifyingContract
        self.salt = salt
    }

    /// The `EIP712Domain` struct type with the fields that are set.
    public var fields: [EIP712Field] {
        var fields: [EIP712Field] = []
        if name != nil { fields.append(EIP712Field("name", "string")) }
        if version != nil { fields.append(EIP712Field("version", "string")) }
        if chainID != nil { fields.append(EIP712Field("chainId", "uint256")) }
        if verifyingContract != nil { fields.append(EIP712Field("verifyingContract", "address")) }
        if salt != nil { fields.append(EIP712Field("salt", "bytes32")) }
        return fields
    }

    /// `domainSeparator` = hashStruct(EIP712Domain).
    public var separator: Hash32 {
        var values: [String: EIP712Value] = [:]
        if let name { values["name"] = .string(name) }
        if let version { values["version"] = .string(version) }
        if let chainID { values["chainId"] = .uint(chainID) }
        if let verifyingContract { values["verifyingContract"] = .address(verifyingContract) }
        if let salt { values["salt"] = .bytes(salt.bytes) }
        // Cannot fail: the fields and values above always agree.
        return try! EIP712Types(["EIP712Domain": fields]).hashStruct("EIP712Domain", values)
    }
}

/// The signing input of EIP-712.
public enum EIP712 {
    /// keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(message)): the digest a wallet signs.
    public static func digest(domainSeparator: Hash32, structHash: Hash32) -> Hash32 {
        var hasher = Keccak256()
        var prefix: (UInt8, UInt8) = (0x19, 0x01)
        withUnsafeBytes(of: &prefix) { hasher.update($0) }
        domainSeparator.withUnsafeBytes { hasher.update($0) }
        structHash.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }

    /// The digest of a typed message in a domain.
    public static func digest(
        domain: EIP712Domain, types: EIP712Types, primaryType: String, message: [String: EIP712Value]
    ) throws(EVMError) -> Hash32 {
        digest(domainSeparator: domain.separator, structHash: try types.hashStruct(primaryType, message))
    }
}
