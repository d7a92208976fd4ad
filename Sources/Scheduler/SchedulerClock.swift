import Foundation

/// Where a ``Worker`` reads the time that decides which slots are due.
///
/// By default (no clock) the worker uses the database's `now()`, so that every worker of a
/// database agrees on what is due whatever their local clocks say. Leases always use the
/// database's time. Tests inject a clock to jump it.
public protocol SchedulerClock: Sendable {
    func now() async throws -> Date
}
