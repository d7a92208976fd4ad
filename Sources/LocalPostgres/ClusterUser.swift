#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An operating-system user, as found in the user database.
struct ClusterUser: Sendable, Hashable {
    var name: String
    var uid: uid_t
    var gid: gid_t
    /// Every group the user belongs to (primary and supplementary).
    var groups: Set<gid_t>

    /// The user called `name`, or `nil` when there is none.
    static func named(_ name: String) -> ClusterUser? {
        lookup { entry, buffer, result in getpwnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    /// The user with id `uid`, or `nil` when there is none.
    static func withID(_ uid: uid_t) -> ClusterUser? {
        lookup { entry, buffer, result in getpwuid_r(uid, &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    private static func lookup(
        _ call: (inout passwd, UnsafeMutableBufferPointer<CChar>, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> ClusterUser? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let found: (String, uid_t, gid_t)? = buffer.withUnsafeMutableBufferPointer { pointer in
            guard call(&entry, pointer, &result) == 0, let record = result else { return nil }
            return (String(cString: record.pointee.pw_name), record.pointee.pw_uid, record.pointee.pw_gid)
        }
        guard let (name, uid, gid) = found else { return nil }
        return ClusterUser(name: name, uid: uid, gid: gid, groups: groupIDs(name: name, primary: gid))
    }

    private static func groupIDs(name: String, primary: gid_t) -> Set<gid_t> {
        #if os(Linux)
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let previous = count
            if getgrouplist(name, primary, &groups, &count) >= 0 {
                return Set(groups.prefix(Int(count))).union([primary])
            }
            if count <= previous { return [primary] }
        }
        #else
        return [primary]
        #endif
    }

    /// Whether this user may search (traverse) a directory with the given owner and mode.
    func canTraverse(_ info: FileSystem.Info) -> Bool {
        if uid == 0 { return true }
        if info.uid == uid { return info.permissions & S_IXUSR != 0 }
        if groups.contains(info.gid) { return info.permissions & S_IXGRP != 0 }
        return info.permissions & S_IXOTH != 0
    }
}
