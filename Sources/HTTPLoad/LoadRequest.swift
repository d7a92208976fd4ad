/// One HTTP/1.1 request that a ``LoadGenerator`` sends.
///
/// The generator adds `Host` (unless ``headers`` has one) and `Content-Length` (always; a
/// `Content-Length` in ``headers`` is dropped so the two can never disagree). It sends no `Connection`
/// header: HTTP/1.1 connections are persistent by default. Method, path and headers are written as
/// given, without validation, so they must not contain CR or LF.
public struct LoadRequest: Sendable {
    /// The request method, for example `GET` or `POST`.
    public var method: String
    /// The request target, for example `/v1/transfers?limit=10`.
    public var path: String
    /// Extra header fields, in order. Names may repeat.
    public var headers: [(String, String)]
    /// The request body; empty for none.
    public var body: [UInt8]

    /// Creates a request.
    /// - Parameters:
    ///   - method: The request method.
    ///   - path: The request target.
    ///   - headers: Extra header fields.
    ///   - body: The request body.
    public init(method: String = "GET", path: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}
