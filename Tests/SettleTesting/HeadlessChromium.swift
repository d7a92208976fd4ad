import Foundation

/// Debian's `chromium` run headless on a local page, as a person would see it: a screenshot and
/// the DOM after rendering. Blocking: call its methods inside ``offPool(_:)``.
public struct HeadlessChromium: Sendable {
    /// The installed binary, if any.
    public static let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    public let executable: String
    /// A directory of its own for the profile (chromium refuses to share one).
    public let workDirectory: URL

    public init(executable: String, workDirectory: URL) {
        self.executable = executable
        self.workDirectory = workDirectory
    }

    private var common: [String] {
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--user-data-dir=\(workDirectory.appendingPathComponent("profile").path)",
        ]
    }

    /// A PNG screenshot of `page` in a window of `width` × `height`.
    public func screenshot(_ page: URL, width: Int = 1280, height: Int = 1800) throws -> Data {
        let file = workDirectory.appendingPathComponent("screenshot-\(UUID().uuidString).png")
        _ = try runChildProcess(
            executable, common + ["--window-size=\(width),\(height)", "--screenshot=\(file.path)", page.absoluteString])
        return try Data(contentsOf: file)
    }

    /// The DOM of `page` once rendered.
    public func dom(_ page: URL) throws -> String {
        String(decoding: try runChildProcess(executable, common + ["--dump-dom", page.absoluteString]), as: UTF8.self)
    }
}
