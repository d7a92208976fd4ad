import Foundation

/// Runs blocking work (a child process and its pipes) on a thread of its own.
///
/// Swift's cooperative pool has one thread per core, two on this machine: a test that blocks one
/// of them while a Python client talks to a server running in the test process (the dev chain,
/// the card mock, `settle sandbox`'s peers) can stall every server and test of the process.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
