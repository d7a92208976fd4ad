import Foundation
import MPP
import SettleTesting
import Testing

/// The MCP transport's answers to bad and good calls (pympp's MCP client pays a real tool in
/// `MPPTempoTests`).
@Suite struct MCPPaymentServerTests {
    static func server() async throws -> MCPPaymentServer {
        let core = MPPServer(
            configuration: MPPServerConfiguration(realm: "127.0.0.1", secrets: try ChallengeSecrets([MPPTestServer.secret])),
            proofs: MPPProofStore(client: try await TestDatabase.client(), logger: MPPTestServer.logger))
        let route = MPPRoute(
            path: nil, offers: [MPPOffer(method: TokenMethod(), request: MPPTestServer.request(amount: "100"))],
            merchantAccount: "merchant:mcp-tests")
        let tool = MCPTool(name: "joke", description: "a joke", route: route) { _ in
            [.object(["type": .string("text"), "text": .string("ha")])]
        }
        let other = MCPTool(name: "other", description: "another tool at the same price", route: route) { _ in [] }
        return MCPPaymentServer(server: core, tools: [tool, other])
    }

    static func call(_ server: MCPPaymentServer, tool: String = "joke", credential: JSONValue? = nil) async -> [String: JSONValue] {
        var params: [String: JSONValue] = ["name": .string(tool), "arguments": .object([:])]
        if let credential { params["_meta"] = .object([MCPPaymentServer.credentialKey: credential]) }
        let answer = await server.handle(
            .object(["jsonrpc": .string("2.0"), "id": .integer(7), "method": .string("tools/call"), "params": .object(params)]))
        return answer?.objectValue ?? [:]
    }

    static func code(_ answer: [String: JSONValue]) -> JSONValue? { answer["error"]?.objectValue?["code"] }
    static func data(_ answer: [String: JSONValue]) -> [String: JSONValue] { answer["error"]?.objectValue?["data"]?.objectValue ?? [:] }

    static func credential(from answer: [String: JSONValue], token: String, tamper: ((inout [String: JSONValue]) -> Void)? = nil) throws
        -> JSONValue
    {
        guard case .array(let challenges) = data(answer)["challenges"], var challenge = challenges.first?.objectValue else {
            throw TestFailure("no challenge in \(answer)")
        }
        tamper?(&challenge)
        return .object(["challenge": .object(challenge), "payload": .object(["token": .string(token)])])
    }

    @Test func aToolIsPaidOnceWithTheReceiptInMeta() async throws {
        let server = try await Self.server()
        let unpaid = await Self.call(server)
        #expect(Self.code(unpaid) == .integer(-32042) && Self.data(unpaid)["httpStatus"] == .integer(402))
        let credential = try Self.credential(from: unpaid, token: MPPTestServer.token())
        let paid = await Self.call(server, credential: credential)
        let result = try #require(paid["result"]?.objectValue, "\(paid)")
        let receipt = result["_meta"]?.objectValue?[MCPPaymentServer.receiptKey]?.objectValue
        #expect(receipt?["status"] == .string("success") && receipt?["challengeId"]?.stringValue?.isEmpty == false)
        #expect(result["content"] == .array([.object(["type": .string("text"), "text": .string("ha")])]))
        let replay = await Self.call(server, credential: credential)
        #expect(Self.code(replay) == .integer(-32043) && Self.data(replay)["httpStatus"] == .integer(403))
        #expect(Self.data(replay)["challenges"] == .array([]), "a replay gets no challenge to pay again")
    }

    @Test func badCredentialsGetTheTransportsErrors() async throws {
        let server = try await Self.server()
        let unpaid = await Self.call(server)
        // A challenge for another tool (same price): its scope differs.
        let other = await Self.call(server, tool: "other", credential: try Self.credential(from: unpaid, token: MPPTestServer.token()))
        #expect(Self.code(other) == .integer(-32043), "\(other)")
        #expect(Self.data(other)["failure"]?.objectValue?["reason"] == .string("invalid-challenge"))
        if case .array(let fresh) = Self.data(other)["challenges"] { #expect(fresh.count == 1) } else { Issue.record("no fresh challenge") }
        // Tampered request terms.
        let tampered = try Self.credential(from: unpaid, token: MPPTestServer.token()) { challenge in
            challenge["request"] = .object(MPPTestServer.request(amount: "1"))
        }
        #expect(Self.code(await Self.call(server, credential: tampered)) == .integer(-32043))
        // Malformed: no payload, a request that is not an object, not an object at all.
        for bad: JSONValue in [
            .object(["challenge": .object([:])]), .string("Payment abc"),
            try Self.credential(from: unpaid, token: "x") { $0["request"] = .string("eyJ9") },
        ] {
            let answer = await Self.call(server, credential: bad)
            #expect(Self.code(answer) == .integer(-32602), "\(bad)")
        }
        #expect(Self.code(await Self.call(server, tool: "nope")) == .integer(-32602))
        #expect(
            Self.code(
                await server.handle(.object(["jsonrpc": .string("2.0"), "id": .integer(1), "method": .string("resources/list")]))?
                    .objectValue ?? [:]) == .integer(-32601))
        #expect(await server.handle(.object(["jsonrpc": .string("2.0"), "method": .string("notifications/initialized")])) == nil)
        let initialize = await server.handle(
            .object([
                "jsonrpc": .string("2.0"), "id": .string("a"), "method": .string("initialize"),
                "params": .object(["protocolVersion": .string("2025-03-26")]),
            ]))
        #expect(initialize?.objectValue?["result"]?.objectValue?["protocolVersion"] == .string("2025-03-26"))
    }
}
