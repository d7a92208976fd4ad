import Foundation

/// MPP over MCP (`draft-payment-transport-mcp-00`): an MCP server whose tools are paid with the
/// same challenges, credentials and receipts as HTTP routes, carried in JSON-RPC.
///
/// A `tools/call` without `params._meta["org.paymentauth/credential"]` fails with `-32042` and the
/// challenges in `error.data` (`httpStatus` 402); a credential that does not pay fails with `-32043`
/// (`httpStatus` 402 with fresh challenges, or 403 for a replay, without any); a malformed one with
/// `-32602`. A paid call's result carries the receipt in `result._meta["org.paymentauth/receipt"]`.
/// Challenges carry `request` and `opaque` as JSON objects here: the server re-encodes them with JCS
/// to check the id, which is the encoding it issued them in.
public struct MCPPaymentServer: Sendable {
    public static let credentialKey = "org.paymentauth/credential"
    public static let receiptKey = "org.paymentauth/receipt"
    public static let paymentRequired: Int64 = -32042
    public static let verificationFailed: Int64 = -32043
    public static let invalidParams: Int64 = -32602
    static let supportedVersions = ["2025-06-18", "2025-03-26", "2024-11-05"]

    public let server: MPPServer
    public let tools: [MCPTool]
    public let name: String
    public let version: String

    public init(server: MPPServer, tools: [MCPTool], name: String = "settle", version: String = "1") {
        self.server = server
        self.tools = tools
        self.name = name
        self.version = version
    }

    /// Answers one JSON-RPC message; nil for a notification.
    public func handle(_ message: JSONValue) async -> JSONValue? {
        guard let object = message.objectValue, object["jsonrpc"] == .string("2.0"), let method = object["method"]?.stringValue else {
            return Self.error(id: message.objectValue?["id"] ?? .null, code: -32600, message: "Invalid Request")
        }
        guard let id = object["id"] else { return nil }
        let params = object["params"]?.objectValue ?? [:]
        switch method {
        case "initialize":
            let asked = params["protocolVersion"]?.stringValue
            let version = asked.flatMap { Self.supportedVersions.contains($0) ? $0 : nil } ?? Self.supportedVersions[0]
            return Self.result(
                id: id,
                [
                    "protocolVersion": .string(version), "capabilities": .object(["tools": .object(["listChanged": .bool(false)])]),
                    "serverInfo": .object(["name": .string(name), "version": .string(self.version)]),
                ])
        case "ping":
            return Self.result(id: id, [:])
        case "tools/list":
            return Self.result(
                id: id,
                [
                    "tools": .array(
                        tools.map {
                            .object(["name": .string($0.name), "description": .string($0.description), "inputSchema": $0.inputSchema])
                        })
                ])
        case "tools/call":
            return await call(id: id, params: params)
        default:
            return Self.error(id: id, code: -32601, message: "Method not found: \(method)")
        }
    }

    private func call(id: JSONValue, params: [String: JSONValue]) async -> JSONValue {
        guard let name = params["name"]?.stringValue, let tool = tools.first(where: { $0.name == name }) else {
            return Self.error(id: id, code: Self.invalidParams, message: "Unknown tool")
        }
        let arguments = params["arguments"]?.objectValue ?? [:]
        var credential: PaymentCredential?
        if let raw = params["_meta"]?.objectValue?[Self.credentialKey] {
            do {
                credential = try Self.credential(raw)
            } catch {
                return Self.error(
                    id: id, code: Self.invalidParams, message: "Malformed payment credential",
                    data: [
                        "httpStatus": .integer(402),
                        "failure": .object(["reason": .string("malformed-credential"), "detail": .string(error.message)]),
                    ])
            }
        }
        switch await server.authorize(credential, route: tool.route, scope: tool.scope, body: nil, servesContent: true) {
        case .challenge(let problem, let challenges):
            var data: [String: JSONValue] = ["httpStatus": .integer(402), "challenges": .array(challenges.map(Self.json))]
            guard credential != nil else { return Self.error(id: id, code: Self.paymentRequired, message: "Payment Required", data: data) }
            data["failure"] = Self.failure(problem)
            return Self.error(id: id, code: Self.verificationFailed, message: "Payment Verification Failed", data: data)
        case .refuse(let problem):
            let data: [String: JSONValue] = [
                "httpStatus": .integer(Int64(problem.status)), "challenges": .array([]), "failure": Self.failure(problem),
            ]
            let code = problem.status >= 500 ? -32603 : Self.verificationFailed
            return Self.error(id: id, code: code, message: problem.code.title, data: data)
        case .paid(.managed(let receipt, _)):
            return Self.result(id: id, ["content": .array([]), "_meta": .object([Self.receiptKey: Self.json(receipt, credential)])])
        case .paid(.serve(let receipt, _)):
            do {
                let content = try await tool.run(arguments)
                return Self.result(
                    id: id,
                    [
                        "content": .array(content), "isError": .bool(false),
                        "_meta": .object([Self.receiptKey: Self.json(receipt, credential)]),
                    ])
            } catch {
                // Paid but failed: a tool error (the receipt goes only with a result).
                return Self.result(
                    id: id, ["content": .array([.object(["type": .string("text"), "text": .string("\(error)")])]), "isError": .bool(true)])
            }
        }
    }

    /// The credential an MCP client sends: the challenge with `request`/`opaque` as objects.
    static func credential(_ raw: JSONValue) throws(MPPWireError) -> PaymentCredential {
        guard let object = raw.objectValue, let challenge = object["challenge"]?.objectValue, let payload = object["payload"] else {
            throw MPPWireError(.missingParameter, "the credential needs challenge and payload")
        }
        func string(_ key: String) throws(MPPWireError) -> String {
            guard let value = challenge[key]?.stringValue, !value.isEmpty else { throw MPPWireError(.missingParameter, "challenge.\(key)") }
            return value
        }
        guard let request = challenge["request"], request.objectValue != nil else {
            throw MPPWireError(.missingParameter, "challenge.request must be an object")
        }
        var opaque: String?
        if let value = challenge["opaque"], value != .null {
            guard value.objectValue != nil else { throw MPPWireError(.invalidParameter, "challenge.opaque must be an object") }
            opaque = try JCS.base64URL(value)
        }
        let echoed = PaymentChallenge(
            id: try string("id"), realm: try string("realm"), method: try string("method"), intent: try string("intent"),
            request: try JCS.base64URL(request), expires: challenge["expires"]?.stringValue, digest: challenge["digest"]?.stringValue,
            description: challenge["description"]?.stringValue, opaque: opaque, header: nil)
        return PaymentCredential(challenge: echoed, payload: payload, source: object["source"]?.stringValue)
    }

    static func json(_ challenge: PaymentChallenge) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(challenge.id), "realm": .string(challenge.realm), "method": .string(challenge.method),
            "intent": .string(challenge.intent), "request": .object((try? challenge.requestObject()) ?? [:]),
        ]
        if let expires = challenge.expires { members["expires"] = .string(expires) }
        if let description = challenge.description { members["description"] = .string(description) }
        if let digest = challenge.digest { members["digest"] = .string(digest) }
        if let opaque = try? challenge.opaqueObject() { members["opaque"] = .object(opaque) }
        return .object(members)
    }

    static func json(_ receipt: PaymentReceipt, _ credential: PaymentCredential?) -> JSONValue {
        var members = receipt.json.objectValue ?? [:]
        members["challengeId"] = credential.map { .string($0.challenge.id) } ?? .null
        return .object(members)
    }

    static func failure(_ problem: PaymentProblem) -> JSONValue {
        .object(["reason": .string(problem.code.slug), "detail": .string(problem.detail)])
    }

    static func result(id: JSONValue, _ members: [String: JSONValue]) -> JSONValue {
        .object(["jsonrpc": .string("2.0"), "id": id, "result": .object(members)])
    }

    static func error(id: JSONValue, code: Int64, message: String, data: [String: JSONValue]? = nil) -> JSONValue {
        var error: [String: JSONValue] = ["code": .integer(code), "message": .string(message)]
        if let data { error["data"] = .object(data) }
        return .object(["jsonrpc": .string("2.0"), "id": id, "error": .object(error)])
    }
}
