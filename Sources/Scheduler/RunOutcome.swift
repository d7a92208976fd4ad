/// How a run of a job ended, as the run history records it.
public enum RunOutcome: String, Sendable, Hashable, Codable {
    /// Still running (or its worker died and nobody has taken the job over yet).
    case running
    case succeeded
    /// The body threw; the slot is retried after the worker's retry delay.
    case failed
    /// Stopped by a shutdown's grace period or a lost lease; the slot stays due.
    case cancelled
    /// Its worker stopped renewing the lease and another worker took the job over.
    case abandoned
}
