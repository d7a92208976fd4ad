import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// One route, every offer: composes payment schemes on the same routes.
///
/// A request carrying a credential is served by the first scheme that recognizes it. A request
/// with none is answered one 402 that holds every scheme's offers: all their challenge headers
/// (`PAYMENT-REQUIRED`, `WWW-Authenticate: Payment …`), and one JSON body with every scheme's
/// members (x402 v1's `accepts` beside MPP's problem document), so each client finds its own.
/// When a scheme answers anything but 402 (the route has no price there, or the router matched
/// nothing), that answer is returned: never serve, never half-offer.
public struct PaymentSchemes<Context: RequestContext>: RouterMiddleware {
    public let schemes: [any PaymentScheme<Context>]

    public init(_ schemes: [any PaymentScheme<Context>]) {
        precondition(!schemes.isEmpty, "compose at least one payment scheme")
        self.schemes = schemes
    }

    @concurrent public func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        for scheme in schemes where scheme.carriesCredential(request) {
            return try await scheme.handle(request, context: context, next: next)
        }
        var merged: Response?
        var members: [String: Any] = [:]
        for scheme in schemes {
            var response = try await scheme.unpaidResponse(request, context: context)
            guard response.status.code == 402 else { return response }
            // A 402's body is a small JSON document; anything past 1 MiB is not one.
            let body = Data(buffer: try await response.body.collect(upTo: 1 << 20))
            if let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] {
                members.merge(object) { first, _ in first }
            }
            guard var combined = merged else {
                response.body = ResponseBody(byteBuffer: ByteBuffer(data: body))
                merged = response
                continue
            }
            for field in response.headers where field.name != .contentType && field.name != .contentLength {
                if field.name == .accessControlExposeHeaders, let exposed = combined.headers[.accessControlExposeHeaders] {
                    combined.headers[.accessControlExposeHeaders] = exposed + ", " + field.value
                } else if combined.headers[field.name] == nil || field.name == .wwwAuthenticate {
                    combined.headers.append(field)
                }
            }
            merged = combined
        }
        guard var response = merged else { throw HTTPError(.internalServerError) }
        if !members.isEmpty, let body = try? JSONSerialization.data(withJSONObject: members, options: [.sortedKeys]) {
            response.headers[.contentLength] = String(body.count)
            response.body = ResponseBody(byteBuffer: ByteBuffer(data: body))
        }
        return response
    }
}
