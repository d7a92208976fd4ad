import NIOCore

/// A ``Connection`` as seen from outside its event loop: every use is submitted to that loop.
struct ConnectionHandle: Sendable {
    let eventLoop: any EventLoop
    private let connection: NIOLoopBound<Connection>

    /// Creates the connection on its loop, where `NIOLoopBound` requires it to be made.
    static func make(id: Int, eventLoop: any EventLoop, plan: LoadPlan) -> EventLoopFuture<ConnectionHandle> {
        eventLoop.submit {
            ConnectionHandle(
                eventLoop: eventLoop,
                connection: NIOLoopBound(Connection(id: id, eventLoop: eventLoop, plan: plan), eventLoop: eventLoop))
        }
    }

    func open() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { connection.value.open() }
    }

    func runPhase(requests: Int, measuring: Bool) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { connection.value.runPhase(requests: requests, measuring: measuring) }
    }

    func finish() -> EventLoopFuture<ConnectionStats> {
        eventLoop.submit { connection.value.finish() }
    }
}
