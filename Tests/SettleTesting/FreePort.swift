import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A TCP port on 127.0.0.1 that was free a moment ago, for a server that binds it later (a
/// PostgreSQL cluster, a child process given `--port`).
///
/// It is chosen below the kernel's ephemeral range: a port from that range, free when asked, was
/// taken by another suite's server (bound to port 0) while a cluster was still being initialized.
/// Below the range only servers told their port explicitly bind, and those take theirs from here.
public func freePort() throws -> Int {
    let ephemeralStart = ephemeralPortRangeStart()
    for _ in 0..<200 {
        let candidate = Int.random(in: 10_000..<max(10_001, ephemeralStart))
        if let listener = try? LoopbackListener(port: candidate) {
            listener.close()
            return candidate
        }
    }
    throw POSIXError(.EADDRINUSE)
}

/// The first port of `net.ipv4.ip_local_port_range` (32768 when it cannot be read).
private func ephemeralPortRangeStart() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
        let first = text.split(whereSeparator: \.isWhitespace).first.flatMap({ Int($0) }), first > 10_001
    else { return 32_768 }
    return first
}

/// A TCP socket on 127.0.0.1 with a kernel-chosen port, listening or not.
///
/// One that does not listen holds its port so that nothing else can take it while connections to it
/// are refused: the one sure "nothing listens here" (a port freed a moment ago may be taken at once by
/// another server of the same test run).
public final class LoopbackListener {
    let descriptor: Int32
    public let port: Int

    public init(port: Int = 0, listening: Bool = true) throws {
        #if canImport(Glibc)
            let streamType = Int32(SOCK_STREAM.rawValue)
        #else
            let streamType = SOCK_STREAM
        #endif
        let descriptor = socket(AF_INET, streamType, 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && (!listening || listen(descriptor, 8) == 0)
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            closeDescriptor(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    public func close() {
        closeDescriptor(descriptor)
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    #if canImport(Glibc)
        _ = Glibc.close(descriptor)
    #elseif canImport(Musl)
        _ = Musl.close(descriptor)
    #elseif canImport(Darwin)
        _ = Darwin.close(descriptor)
    #endif
}
