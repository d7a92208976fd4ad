/// Comparison of secrets-derived strings (challenge ids, body digests) that takes the same time
/// wherever they differ, so that timing reveals nothing of the expected value.
enum ConstantTime {
    /// Whether the UTF-8 bytes of `a` and `b` are equal; only their lengths (not secret: 43 for
    /// every genuine id) may end the comparison early.
    static func equal(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
