import Logging

/// Takes the webhooks of a set of rails: finds the rail, lets it verify and translate the raw
/// delivery, and books it once through a ``RailBooker``.
public struct RailWebhooks: Sendable {
    /// Why a delivery was not taken, sorted by what the sender should do.
    public enum Failure: Error, Sendable, Hashable {
        /// No configured rail with that id takes webhooks.
        case unknownRail(String)
        /// The signature or the payload is not acceptable; nothing was booked and a redelivery
        /// will not change that.
        case invalid(RailError)
        /// It resolves something not booked yet; a later redelivery books it.
        case retryLater(RailError)
        /// The rail or the ledger failed; a later redelivery may succeed.
        case unavailable(RailError)
    }

    private let rails: [String: any Rail]
    private let booker: RailBooker
    private let logger: Logger

    public init(rails: [any Rail], booker: RailBooker, logger: Logger) {
        self.rails = Dictionary(rails.map { ($0.descriptor.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.booker = booker
        self.logger = logger
    }

    /// Verifies and books one delivery to rail `id`.
    /// - Returns: false when the delivery was taken before (nothing was done).
    public func take(rail id: String, headers: [String: String], body: [UInt8]) async throws(Failure) -> Bool {
        guard let rail = rails[id], rail.descriptor.capabilities.contains(.webhooks) else { throw .unknownRail(id) }
        do throws(RailError) {
            let delivery = try await rail.verifyWebhook(headers: headers, body: body)
            return try await booker.take(delivery, on: rail.descriptor)
        } catch {
            switch error.code {
            case .invalidSignature, .staleTimestamp, .invalidEvent, .unknownTransition, .missingAmount, .missingBinding:
                logger.warning("webhook refused", metadata: ["rail": "\(id)", "error": "\(error)"])
                throw .invalid(error)
            case .outOfOrder:
                throw .retryLater(error)
            case .rejected:
                // Already alerted by the booker; the sender redelivers until the cause is fixed.
                throw .retryLater(error)
            default:
                logger.error("webhook not taken", metadata: ["rail": "\(id)", "error": "\(error)"])
                throw .unavailable(error)
            }
        }
    }
}
