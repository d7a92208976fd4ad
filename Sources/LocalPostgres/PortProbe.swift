#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks whether a TCP port on 127.0.0.1 can be bound, the way the postmaster will bind it.
enum PortProbe {
    enum Outcome: Sendable, Equatable {
        case free
        case inUse
        /// Binding failed for another reason (for example a privileged port); the text says why.
        case unavailable(String)
    }

    static func probe(port: Int) -> Outcome {
        #if canImport(Glibc)
        let streamType = Int32(SOCK_STREAM.rawValue)
        #else
        let streamType = SOCK_STREAM
        #endif
        let descriptor = socket(AF_INET, streamType, 0)
        guard descriptor >= 0 else {
            return .unavailable("socket(): " + String(cString: strerror(errno)))
        }
        defer { close(descriptor) }

        // PostgreSQL sets SO_REUSEADDR on its listening sockets; do the same so that connections in
        // TIME_WAIT from a previous server do not count as "in use".
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))

        var address = sockaddr_in()
        #if canImport(Darwin)
        address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result == 0 { return .free }
        if errno == EADDRINUSE { return .inUse }
        return .unavailable("bind(127.0.0.1:\(port)): " + String(cString: strerror(errno)))
    }
}
