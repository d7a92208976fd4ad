/// Whether two byte strings are equal, in time that depends only on their length: for comparing
/// secrets (API keys, bearer tokens) without telling an attacker how close a guess came.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in a.indices { difference |= a[i] ^ b[i] }
    return difference == 0
}
