import NIOCore
import NIOHTTP1
import NIOPosix

/// One closed-loop client: sends a request, waits for the whole response, sends the next.
///
/// Not `Sendable`: every method runs on ``eventLoop``, which also owns the channel, so the state needs no
/// locks. Callers elsewhere hold it in a `NIOLoopBound`.
///
/// Requests bypass the pipeline's outbound path: the encoded bytes are written from the decoder's context
/// straight to the socket, and the decoder is told about the request directly (it needs the method to
/// know whether a body follows, and refuses responses it did not see a request for).
final class Connection {
    let id: Int
    let eventLoop: any EventLoop
    private let plan: LoadPlan

    // The open channel, its decoder and the context to write requests from; all nil while disconnected.
    private var channel: (any Channel)?
    private var decoder: HTTPResponseDecoder?
    private var writer: ChannelHandlerContext?
    private var connecting = false
    private var everConnected = false
    private var connectFailures = 0
    private var stopped = false

    // The current phase.
    private var phasePromise: EventLoopPromise<Void>?
    private var remaining = 0
    private var measuring = false
    private var nextIndex = 0

    // The request in flight.
    private var inFlight = false
    private var sentAt: UInt64 = 0
    private var status = 0
    private var keepAlive = true
    private var requestBuffer: ByteBuffer
    private var bodyBuffer: ByteBuffer
    private var requestHead = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
    private var requestMethod = "GET"

    private var watchdog: Scheduled<Void>?
    private var stats = ConnectionStats()

    init(id: Int, eventLoop: any EventLoop, plan: LoadPlan) {
        self.id = id
        self.eventLoop = eventLoop
        self.plan = plan
        self.requestBuffer = ByteBufferAllocator().buffer(capacity: 512)
        self.bodyBuffer = ByteBufferAllocator().buffer(capacity: plan.check == nil ? 0 : 1024)
    }

    /// Opens the first connection, without retrying, so that the run can fail fast when nothing listens.
    func open() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        let promise = eventLoop.makePromise(of: Void.self)
        connecting = true
        makeBootstrap().connect(to: plan.address).assumeIsolated().whenComplete { result in
            self.connecting = false
            switch result {
            case .success(let channel):
                do {
                    try self.attach(channel)
                    promise.succeed()
                } catch {
                    channel.close(promise: nil)
                    promise.fail(error)
                }
            case .failure(let error):
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// Sends `requests` requests one after the other; the future succeeds when each got a response or
    /// was lost to the transport. Only a measuring phase records anything.
    func runPhase(requests: Int, measuring: Bool) -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        precondition(phasePromise == nil, "a phase is already running")
        let promise = eventLoop.makePromise(of: Void.self)
        phasePromise = promise
        remaining = requests
        self.measuring = measuring
        if measuring {
            stats.latencies.reserveCapacity(requests)
        }
        armWatchdog()
        advance()
        return promise.futureResult
    }

    /// Stops the connection and returns what it measured.
    func finish() -> ConnectionStats {
        eventLoop.assertInEventLoop()
        stopped = true
        watchdog?.cancel()
        watchdog = nil
        channel?.close(promise: nil)
        return stats
    }

    // MARK: - Response events, from ResponseHandler

    func responseHead(status: Int, keepAlive: Bool) {
        self.status = status
        self.keepAlive = keepAlive
    }

    func responseBody(_ part: ByteBuffer) {
        guard plan.check != nil else { return }
        var part = part
        bodyBuffer.writeBuffer(&part)
    }

    func responseEnd() {
        guard inFlight else { return }
        let latency = NIODeadline.now().uptimeNanoseconds &- sentAt
        inFlight = false
        remaining -= 1
        if measuring {
            stats.completed += 1
            stats.countStatus(status)
            stats.latencies.append(latency)
            let passed = plan.check.map { $0(status, bodyBuffer) } ?? (200..<300).contains(status)
            if !passed {
                stats.failed += 1
            }
        }
        if keepAlive {
            advance()
        } else {
            // The server announced it will close; sending on this connection would only lose a
            // request. `channelClosed` reconnects.
            channel?.close(promise: nil)
        }
    }

    func channelClosed(_ closed: any Channel) {
        guard let channel, channel === closed else { return }
        self.channel = nil
        decoder = nil
        writer = nil
        if inFlight {
            inFlight = false
            remaining -= 1
            if measuring {
                stats.transportErrors += 1
            }
        }
        if !stopped && phasePromise != nil {
            advance()
        }
    }

    // MARK: - The loop

    private func advance() {
        guard remaining > 0, !stopped else {
            let promise = phasePromise
            phasePromise = nil
            promise?.succeed()
            return
        }
        if channel != nil {
            send()
        } else if !connecting {
            reconnect()
        }
    }

    private func send() {
        guard let decoder, let writer else { return }
        let request = plan.makeRequest(id, nextIndex)
        nextIndex += 1
        if request.method != requestMethod {
            requestMethod = request.method
            requestHead = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: "/")
        }
        RequestEncoder.encode(request, hostHeader: plan.hostHeader, into: &requestBuffer)
        decoder.write(data: .head(requestHead))
        status = 0
        keepAlive = true
        bodyBuffer.clear()
        inFlight = true
        sentAt = NIODeadline.now().uptimeNanoseconds
        writer.writeAndFlush(NIOAny(requestBuffer), promise: nil)
    }

    private func reconnect() {
        connecting = true
        makeBootstrap().connect(to: plan.address).assumeIsolated().whenComplete { result in
            self.connecting = false
            switch result {
            case .success(let channel):
                if self.stopped {
                    channel.close(promise: nil)
                    return
                }
                do {
                    try self.attach(channel)
                    self.advance()
                } catch {
                    channel.close(promise: nil)
                    self.connectFailed()
                }
            case .failure:
                self.connectFailed()
            }
        }
    }

    private func connectFailed() {
        connectFailures += 1
        guard connectFailures < plan.maxConnectAttempts else {
            // The server is gone for this connection; its remaining requests are lost, not retried
            // forever, so the run still ends.
            if measuring {
                stats.transportErrors += remaining
            }
            remaining = 0
            advance()
            return
        }
        // A short, growing pause so that a server briefly out of sockets is not hammered.
        let delay = TimeAmount.milliseconds(Int64(10 * connectFailures))
        eventLoop.assumeIsolated().scheduleTask(in: delay) {
            if self.channel == nil && !self.connecting {
                self.advance()
            }
        }
    }

    private func attach(_ channel: any Channel) throws {
        // A server that accepts and closes at once may have done so before this callback ran.
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        let pipeline = channel.pipeline.syncOperations
        let handler = try pipeline.handler(type: ResponseHandler.self)
        writer = try pipeline.context(handlerType: ByteToMessageHandler<HTTPResponseDecoder>.self)
        decoder = handler.decoder
        self.channel = channel
        if everConnected && measuring {
            stats.reconnects += 1
        }
        everConnected = true
        connectFailures = 0
    }

    private func makeBootstrap() -> ClientBootstrap {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        return ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(plan.requestTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)
                    let handler = ResponseHandler(decoder: decoder, connection: bound.value)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
    }

    // MARK: - Timeouts

    private func armWatchdog() {
        guard watchdog == nil, !stopped else { return }
        // Checking a timestamp now and then is cheaper than scheduling a timer per request.
        let interval = min(TimeAmount.nanoseconds(plan.requestTimeout.nanoseconds / 2), .seconds(1))
        watchdog = eventLoop.assumeIsolated().scheduleTask(in: interval) {
            self.watchdog = nil
            if self.inFlight,
                NIODeadline.now().uptimeNanoseconds &- self.sentAt > UInt64(self.plan.requestTimeout.nanoseconds)
            {
                // Closing turns the hung request into a transport error and reconnects.
                self.channel?.close(promise: nil)
            }
            if self.phasePromise != nil {
                self.armWatchdog()
            }
        }
    }
}

@available(*, unavailable)
extension Connection: Sendable {}
