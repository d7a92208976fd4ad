import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// MCP's Streamable HTTP transport for ``MCPPaymentServer``, answered with plain JSON: `POST` takes
/// one JSON-RPC message (or a batch) and answers it as `application/json` (`202` for notifications
/// only); there is no server-initiated stream, so `GET` is `405` as the transport allows. Sessions
/// are not needed: every call carries its own payment.
public enum MCPRoutes {
    public static func add<Context: RequestContext>(to router: some RouterMethods<Context>, path: RouterPath, server: MCPPaymentServer) {
        router.post(path) { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let message: JSONValue
            do {
                message = try JSONValue.decode(Data(buffer: body))
            } catch {
                return json(MCPPaymentServer.error(id: .null, code: -32700, message: "Parse error"))
            }
            if case .array(let batch) = message {
                var answers: [JSONValue] = []
                for item in batch { if let answer = await server.handle(item) { answers.append(answer) } }
                return answers.isEmpty ? Response(status: .accepted) : json(.array(answers))
            }
            guard let answer = await server.handle(message) else { return Response(status: .accepted) }
            return json(answer)
        }
        router.get(path) { _, _ in Response(status: .methodNotAllowed, headers: [.allow: "POST"]) }
        router.delete(path) { _, _ in Response(status: .methodNotAllowed, headers: [.allow: "POST"]) }
    }

    static func json(_ value: JSONValue) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
