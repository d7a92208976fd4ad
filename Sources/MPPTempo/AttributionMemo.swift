import EVM
import Foundation

/// The MPP attribution memo of a TIP-20 `transferWithMemo` (pympp and mppx): 32 bytes that tie an
/// on-chain transfer to the challenge it pays, so one transfer never pays two challenges and a
/// transfer to the merchant made for something else never pays one.
///
/// `ef1ed712` (keccak256("mpp")[0..4]) ‖ `01` ‖ keccak256(realm)[0..10] ‖ keccak256(clientId)[0..10]
/// or zeros ‖ keccak256(challengeId)[0..7].
public enum AttributionMemo {
    static let tag: [UInt8] = [0xef, 0x1e, 0xd7, 0x12]
    static let version: UInt8 = 0x01

    /// The memo a client pays `challengeID` of `realm` with.
    public static func encode(challengeID: String, realm: String, clientID: String? = nil) -> Hash32 {
        var bytes = tag + [version] + fingerprint(realm)
        bytes += clientID.map(fingerprint) ?? [UInt8](repeating: 0, count: 10)
        bytes += Array(Keccak256.hash(Array(challengeID.utf8)).bytes.prefix(7))
        // 32 bytes by construction.
        return try! Hash32(bytes: bytes)
    }

    /// Whether `memo` is an MPP memo of `realm` bound to `challengeID` (any client).
    public static func binds(_ memo: Hash32, challengeID: String, realm: String) -> Bool {
        let bytes = memo.bytes
        return Array(bytes[0..<4]) == tag && bytes[4] == version && Array(bytes[5..<15]) == fingerprint(realm)
            && Array(bytes[25..<32]) == Array(Keccak256.hash(Array(challengeID.utf8)).bytes.prefix(7))
    }

    /// Whether `memo` carries the MPP tag and version (of any server or challenge).
    public static func isAttribution(_ memo: Hash32) -> Bool {
        let bytes = memo.bytes
        return Array(bytes[0..<4]) == tag && bytes[4] == version
    }

    private static func fingerprint(_ text: String) -> [UInt8] { Array(Keccak256.hash(Array(text.utf8)).bytes.prefix(10)) }
}
