import HTTPTypes
import Hummingbird

/// A router that routes each request on its canonical path: percent-encoded unreserved characters
/// decoded (RFC 3986 §6.2.2.2), so `/paid/%6Aoke` is `/paid/joke` for the router and for every
/// payment middleware behind it, which see one and the same path.
///
/// Reserved characters stay encoded (`%2F` is not a separator); the query is left as sent.
///
/// ```swift
/// let app = Application(router: CanonicalPaths(router))
/// ```
public struct CanonicalPaths<Base: HTTPResponderBuilder>: HTTPResponderBuilder {
    public let base: Base

    public init(_ base: Base) {
        self.base = base
    }

    public func buildResponder() -> Responder {
        Responder(base: base.buildResponder())
    }

    /// Rewrites the request's path, then hands it to the router.
    public struct Responder: HTTPResponder {
        public typealias Context = Base.Responder.Context
        let base: Base.Responder

        @concurrent public func respond(to request: Request, context: Context) async throws -> Response {
            guard let path = request.head.path, let canonical = CanonicalPath.of(path) else {
                return try await base.respond(to: request, context: context)
            }
            var head = request.head
            head.path = canonical
            return try await base.respond(to: Request(head: head, body: request.body), context: context)
        }
    }
}

/// RFC 3986 §6.2.2.2 on a request target.
enum CanonicalPath {
    /// `target` with the unreserved characters of its path decoded; nil when it has none encoded.
    static func of(_ target: String) -> String? {
        let bytes = Array(target.utf8)
        let end = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.endIndex
        guard bytes[..<end].contains(UInt8(ascii: "%")) else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var changed = false
        var i = 0
        while i < end {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < end, let high = hex(bytes[i + 1]), let low = hex(bytes[i + 2]),
                isUnreserved(high << 4 | low)
            {
                output.append(high << 4 | low)
                changed = true
                i += 3
            } else {
                output.append(bytes[i])
                i += 1
            }
        }
        guard changed else { return nil }
        output.append(contentsOf: bytes[end...])
        return String(decoding: output, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func isUnreserved(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}
