import Foundation
import Synchronization

/// The demo's progress: one line rewritten in place on a terminal; on a pipe or a file, plain
/// lines (one per finished step), so a log stays readable.
public final class DemoProgress: Sendable {
    /// Whether stdout is a terminal.
    public let interactive: Bool
    private let counts = Mutex<[(label: String, done: Int, total: Int)]>([])
    private let write: @Sendable (String) -> Void

    public init(interactive: Bool = isatty(STDOUT_FILENO) == 1, write: @escaping @Sendable (String) -> Void = { print($0, terminator: "") })
    {
        self.interactive = interactive
        self.write = write
    }

    /// Starts counting `label` up to `total`.
    public func expect(_ label: String, total: Int) {
        counts.withLock { $0.append((label, 0, total)) }
        redraw()
    }

    /// One more of `label` done.
    public func advance(_ label: String) {
        let finished = counts.withLock { counts -> String? in
            guard let index = counts.firstIndex(where: { $0.label == label }) else { return nil }
            counts[index].done += 1
            return counts[index].done == counts[index].total ? "\(label): \(counts[index].total)/\(counts[index].total)" : nil
        }
        if interactive {
            redraw()
        } else if let finished {
            write("  \(finished)\n")
        }
    }

    /// A plain line; on a terminal it replaces the progress line, which is then drawn again below.
    public func line(_ text: String) {
        if interactive {
            write("\r\u{1B}[2K" + text + "\n")
            redraw()
        } else {
            write(text + "\n")
        }
    }

    /// Ends the progress line (the counts are kept).
    public func finish() {
        guard interactive else { return }
        redraw()
        write("\n")
        counts.withLock { $0.removeAll() }
    }

    private func redraw() {
        guard interactive else { return }
        let text = counts.withLock { $0.map { "\($0.label) \($0.done)/\($0.total)" }.joined(separator: " · ") }
        guard !text.isEmpty else { return }
        write("\r\u{1B}[2K  paying: " + text)
    }
}
