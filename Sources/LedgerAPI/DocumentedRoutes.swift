import Foundation

/// The paths and methods the OpenAPI document describes, read once from the embedded document: a
/// request for a documented path with another method is answered 405 with the `Allow` methods,
/// not 404, so that what the server says matches what the document says.
struct DocumentedRoutes: Sendable {
    struct Route: Sendable {
        /// The path's segments; nil for a `{parameter}` segment, which matches any one segment.
        var segments: [String?]
        var methods: [String]
    }

    let routes: [Route]

    static let shared = DocumentedRoutes(document: PackageResources.openapi_json)

    init(document: [UInt8]) {
        let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        guard let root = try? JSONSerialization.jsonObject(with: Data(document)) as? [String: Any],
            let paths = root["paths"] as? [String: [String: Any]]
        else {
            routes = []
            return
        }
        routes = paths.map { path, item in
            Route(
                segments: path.split(separator: "/").map { $0.hasPrefix("{") && $0.hasSuffix("}") ? nil : String($0) },
                methods: methods.filter { item[$0] != nil }.map { $0.uppercased() })
        }
    }

    /// The methods the document gives `path`, or nil when it does not describe the path.
    func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            String($0).removingPercentEncoding ?? String($0)
        }
        let matching = routes.filter { route in
            route.segments.count == segments.count
                && zip(route.segments, segments).allSatisfy { template, actual in template.map { $0 == actual } ?? !actual.isEmpty }
        }
        // A literal segment wins over a parameter (`/v1/transfers/batch` is not `/v1/transfers/{id}`),
        // as in the router.
        guard let literals = matching.map({ $0.segments.count { $0 != nil } }).max() else { return nil }
        return Array(Set(matching.filter { $0.segments.count { $0 != nil } == literals }.flatMap(\.methods))).sorted()
    }
}
