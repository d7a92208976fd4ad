import Logging

/// Makes rails from configuration. The executable registers one factory per kind of rail it ships
/// (each rail module under `Plugins/` offers one); the core never names a rail.
public struct RailRegistry: Sendable {
    /// Makes a rail from its configuration; checks the settings it needs.
    public typealias Factory = @Sendable (RailConfiguration, Logger) async throws(RailError) -> any Rail

    private var factories: [String: Factory] = [:]

    public init() {}

    /// Registers the factory for rails of `kind`; a later registration of the same kind replaces it.
    public mutating func register(kind: String, _ factory: @escaping Factory) {
        factories[kind] = factory
    }

    /// The kinds that can be configured.
    public var kinds: [String] { factories.keys.sorted() }

    /// Makes every configured rail; ids must be unique and each rail's descriptor valid.
    public func make(_ configurations: [RailConfiguration], logger: Logger) async throws(RailError) -> [any Rail] {
        var rails: [any Rail] = []
        var ids = Set<String>()
        do throws(RailError) {
            for configuration in configurations {
                guard ids.insert(configuration.id).inserted else {
                    throw RailError(.invalidConfiguration, "rail id \(configuration.id) is configured twice")
                }
                guard let factory = factories[configuration.kind] else {
                    throw RailError(
                        .unknownKind,
                        "rail \(configuration.id): no rail of kind \(configuration.kind) (known: \(kinds.joined(separator: ", ")))")
                }
                let rail = try await factory(configuration, logger)
                guard rail.descriptor.id == configuration.id else {
                    throw RailError(.invalidConfiguration, "rail \(configuration.id) describes itself as \(rail.descriptor.id)")
                }
                try rail.descriptor.validate()
                rails.append(rail)
            }
        } catch {
            for rail in rails { await rail.shutdown() }
            throw error
        }
        return rails
    }
}
