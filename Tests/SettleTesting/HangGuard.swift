import NIOCore

/// How long a test waits for one request, one RPC call or one condition before it calls it a hang.
///
/// Not a performance bound: on this two-core machine a full suite run beside a build starves every
/// test, and a call that takes milliseconds alone has been seen taking over a minute. A deadline
/// shorter than that fails a correct test; the suites' time limits are what catch real hangs.
public enum HangGuard {
    public static let duration: Duration = .seconds(300)
    public static let timeAmount: TimeAmount = .seconds(300)
}
