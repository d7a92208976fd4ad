/// A paid MCP tool: the terms it is sold on (one challenge per offer, as an HTTP route) and what it
/// does once paid.
public struct MCPTool: Sendable {
    public var name: String
    public var description: String
    /// The JSON Schema of its arguments.
    public var inputSchema: JSONValue
    /// The offers and revenue account; the route's `path` is unused (the tool's name is its scope).
    public var route: MPPRoute
    /// Runs the tool with its arguments; returns MCP content items (`{"type":"text","text":…}`).
    public var run: @Sendable ([String: JSONValue]) async throws -> [JSONValue]

    public init(
        name: String, description: String, inputSchema: JSONValue = .object(["type": .string("object")]), route: MPPRoute,
        run: @escaping @Sendable ([String: JSONValue]) async throws -> [JSONValue]
    ) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
        self.route = route
        self.run = run
    }

    /// The scope bound into the tool's challenges, so they pay for this tool only.
    var scope: String { "MCP tools/call \(name)" }
}
