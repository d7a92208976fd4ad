/// Addresses of Tempo's system precompiles.
public enum TempoAddresses {
    /// The FeeManager (TIP_FEE_MANAGER_ADDRESS), which collects transaction fees: a fee leaves its
    /// payer as a `Transfer` to it from the fee token, emitted after the transaction's calls.
    public static let feeManager = try! Address("0xfeec000000000000000000000000000000000000")
}
