/// The EIP-712 domain of an EIP-3009 token (FiatToken/USDC style):
/// `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`.
///
/// The separator is computed once here, since every authorization check of the token needs it.
/// `name` and `version` must be the token's own (`USD Coin` on Base, `USDC` on Base Sepolia…): a
/// wrong name yields a different digest, hence a different recovered signer.
public struct TokenDomain: Sendable, Hashable {
    public let name: String
    public let version: String
    public let chainID: UInt256
    public let verifyingContract: Address
    /// hashStruct(EIP712Domain) of the four fields.
    public let separator: Hash32

    public init(name: String, version: String, chainID: UInt256, verifyingContract: Address) {
        self.name = name
        self.version = version
        self.chainID = chainID
        self.verifyingContract = verifyingContract
        separator = EIP712Domain(name: name, version: version, chainID: chainID, verifyingContract: verifyingContract).separator
    }
}
