import Foundation
import Hummingbird
import Ledger
import Logging
import NIOCore
import NIOFoundationCompat
import Paywall

/// The facilitator HTTP API (spec §7): `POST /verify`, `POST /settle`, `GET /supported`.
///
/// Answers are HTTP 200 even when the payment is invalid or its settlement failed; 400 when the
/// body is not a facilitator request; 401 without an accepted bearer token (unless the access is
/// ``X402FacilitatorAccess/open``); 500 when the facilitator could not answer.
///
/// ```swift
/// let router = Router()
/// X402FacilitatorRoutes.add(to: router.group("x402"), facilitator: facilitator, access: .bearer(tokens: [token]))
/// ```
public enum X402FacilitatorRoutes {
    /// Larger request bodies are refused.
    public static let maxBodyBytes = 64 * 1024

    /// Mounts the three routes on `router` (a router or a group). `access` has no default: a
    /// facilitator is open only when its caller says so.
    public static func add<Context: RequestContext>(
        to router: some RouterMethods<Context>, facilitator: any Facilitator, access: X402FacilitatorAccess,
        v1: X402V1Bridge = X402V1Bridge(), codec: X402HeaderCodec = .standard
    ) {
        router.post("verify") { request, context -> Response in
            guard access.allows(request) else { return unauthorized() }
            return try await handle(request, context: context, v1: v1, codec: codec) { payload, requirements in
                json(try await facilitator.verify(payload, requirements: requirements))
            }
        }
        router.post("settle") { request, context -> Response in
            guard access.allows(request) else { return unauthorized() }
            return try await handle(request, context: context, v1: v1, codec: codec) { payload, requirements in
                json(try await facilitator.settle(payload, requirements: requirements))
            }
        }
        router.get("supported") { request, context -> Response in
            guard access.allows(request) else { return unauthorized() }
            do {
                return json(try await facilitator.supported())
            } catch {
                context.logger.error("x402 /supported failed", metadata: ["error": "\(error)"])
                return problem(.internalServerError, "the facilitator could not answer")
            }
        }
    }

    private struct Probe: Decodable {
        var x402Version: Int?
        var paymentPayload: JSONValue?
        var paymentRequirements: JSONValue?
    }

    private struct RequestV1: Decodable {
        var paymentPayload: PaymentPayloadV1
        var paymentRequirements: PaymentRequirementsV1
    }

    private static func handle<Context: RequestContext>(
        _ request: Request, context: Context, v1: X402V1Bridge, codec: X402HeaderCodec,
        _ body: (PaymentPayload, PaymentRequirements) async throws -> Response
    ) async throws -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            return problem(.contentTooLarge, "the body is larger than \(maxBodyBytes) bytes")
        }
        let data = Data(buffer: buffer)
        let payload: PaymentPayload
        let requirements: PaymentRequirements
        // The form nearly every server sends goes through the strict parser; anything else through
        // `Decodable`, which stays the definition of the form and of every error.
        if (try? codec.checkDepth(data)) != nil, let tree = try? StrictJSONParser<X402JSONTree>.parse(data),
            let parsed = FacilitatorRequest(parsed: tree)
        {
            return try await answer(parsed.paymentPayload, parsed.paymentRequirements, context: context, body)
        }
        do {
            let probe = try codec.decodeJSON(Probe.self, from: data)
            guard probe.paymentPayload != nil, probe.paymentRequirements != nil else {
                return problem(.badRequest, "paymentPayload and paymentRequirements are required")
            }
            if probe.x402Version == 1 {
                let old = try codec.decodeJSON(RequestV1.self, from: data)
                guard let converted = v1.v2(old.paymentRequirements), let converted2 = v1.v2(old.paymentPayload, for: converted) else {
                    return problem(.badRequest, "unknown v1 network or scheme mismatch")
                }
                requirements = converted
                payload = converted2
            } else {
                let message = try codec.decodeJSON(FacilitatorRequest.self, from: data)
                payload = message.paymentPayload
                requirements = message.paymentRequirements
            }
        } catch {
            return problem(.badRequest, error.description)
        }
        return try await answer(payload, requirements, context: context, body)
    }

    private static func answer<Context: RequestContext>(
        _ payload: PaymentPayload, _ requirements: PaymentRequirements, context: Context,
        _ body: (PaymentPayload, PaymentRequirements) async throws -> Response
    ) async throws -> Response {
        do {
            return try await body(payload, requirements)
        } catch {
            context.logger.error("x402 facilitator failed", metadata: ["error": "\(error)"])
            return problem(.internalServerError, "the facilitator could not answer")
        }
    }

    static func json(_ value: some Encodable) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: X402HeaderCodec.json(value))))
    }

    static func unauthorized() -> Response {
        var response = problem(.unauthorized, "send Authorization: Bearer <token> with a token of this facilitator")
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        struct Body: Encodable { var error: String }
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: X402HeaderCodec.json(Body(error: message)))))
    }
}
