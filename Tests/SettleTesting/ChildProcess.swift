import Foundation

/// Runs a child process (the interop tests' Python scripts) to its end: `input` on its standard
/// input, its standard output returned. Blocking: call it inside ``offPool(_:)``.
///
/// Input, output and errors move on threads of their own, so that neither side blocks on a full pipe
/// whatever the sizes; a non-zero exit throws ``ChildProcessFailure`` with what it wrote to stderr.
public func runChildProcess(_ executable: String, _ arguments: [String], input: Data = Data(), environment: [String: String] = [:]) throws
    -> Data
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let done = DispatchGroup()
    let errors = ChildOutput()
    for work in [
        {
            stdin.fileHandleForWriting.write(input); try? stdin.fileHandleForWriting.close()
        },
        { errors.data = stderr.fileHandleForReading.readDataToEndOfFile() },
    ] as [@Sendable () -> Void] {
        done.enter()
        Thread {
            work()
            done.leave()
        }.start()
    }
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    done.wait()
    guard process.terminationStatus == 0 else {
        throw ChildProcessFailure(
            description:
                "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errors.data, as: UTF8.self))"
        )
    }
    return output
}

/// A child process that exited with a non-zero status; the description carries its stderr.
public struct ChildProcessFailure: Error, CustomStringConvertible {
    public var description: String
}

/// The stderr reader's result, handed over once its thread has finished (`DispatchGroup.wait`).
private final class ChildOutput: @unchecked Sendable {
    var data = Data()
}
