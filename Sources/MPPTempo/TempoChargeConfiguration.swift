import EVM
import Foundation
import Ledger
import Logging
import RailKit

/// What `tempo/charge` needs: the chain, the currencies it accepts, the fee payer key when it
/// sponsors fees, and where it books.
public struct TempoChargeConfiguration: Sendable {
    public var chainID: UInt64
    public var rpc: EthereumRPC
    /// The accepted TIP-20s and the ledger asset each is booked in.
    public var currencies: [Address: AssetID]
    /// The server's key for sponsoring fees (`feePayer` offers); nil: no sponsored offers.
    public var feePayer: PrivateKey?
    /// A sponsored transaction must stay valid at least this long (pympp: 15 s), so that the
    /// co-signed transaction can still be included.
    public var sponsoredValidity: Duration
    /// How long `eth_sendRawTransactionSync` waits for inclusion.
    public var broadcastTimeout: Duration
    /// Books each charge; nil: nothing is booked (tests of the wire protocol alone).
    public var booker: RailBooker?
    /// The rail bookings are made on (`mpp-tempo`).
    public var descriptor: RailDescriptor
    public var logger: Logger
    public var now: @Sendable () -> Date

    public init(
        chainID: UInt64, rpc: EthereumRPC, currencies: [Address: Asset], feePayer: PrivateKey? = nil,
        sponsoredValidity: Duration = .seconds(15),
        broadcastTimeout: Duration = .seconds(10), booker: RailBooker? = nil, railID: String = "mpp-tempo",
        logger: Logger = Logger(label: "settle.mpp.tempo"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.chainID = chainID
        self.rpc = rpc
        self.currencies = currencies.mapValues(\.id)
        self.feePayer = feePayer
        self.sponsoredValidity = sponsoredValidity
        self.broadcastTimeout = broadcastTimeout
        self.booker = booker
        descriptor = MPPTempoFundFlow.descriptor(id: railID, assets: Array(currencies.values))
        self.logger = logger
        self.now = now
    }
}
