/// The canonical byte encoding of a stored row, from which the hash chain's digests are taken.
///
/// Every field is either absent (SQL NULL: one byte `0x00`) or present (`0x01`, its length as a
/// 4-byte big-endian integer, then its bytes). Length prefixes make the encoding injective: no two
/// different rows give the same bytes, whatever the fields contain. Numbers are written as decimal
/// text (amounts are up to 2^256-1), times as microseconds since the Unix epoch in decimal text,
/// booleans as `t` or `f`, JSON as canonical JSON (``CanonicalJSON``), byte strings as they are.
///
/// The chainer and the verifier both encode through this type, and nothing in SQL does: a superuser
/// who replaces a database function cannot make the verifier agree with a rewritten row.
struct CanonicalEncoding: Sendable {
    private(set) var bytes: [UInt8] = []

    /// Starts a row's encoding with its kind and encoding version, so that an entry and an account
    /// whose fields happened to coincide still encode differently.
    init(kind: String) {
        bytes.reserveCapacity(256)
        append(kind)
    }

    mutating func append(_ text: String?) {
        append(bytes: text.map { Array($0.utf8) })
    }

    mutating func append(_ number: Int64?) {
        append(number.map { String($0) })
    }

    mutating func append(_ flag: Bool) {
        append(flag ? "t" : "f")
    }

    mutating func append(bytes value: [UInt8]?) {
        guard let value else {
            bytes.append(0)
            return
        }
        bytes.append(1)
        let count = UInt32(value.count)
        bytes.append(contentsOf: [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)])
        bytes.append(contentsOf: value)
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` as 8 big-endian bytes: the fixed-width integers of the checkpoint root and
    /// the signed checkpoint message.
    mutating func appendBigEndian(_ value: Int64) {
        let v = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { append(UInt8((v >> UInt64(shift)) & 0xFF)) }
    }
}
