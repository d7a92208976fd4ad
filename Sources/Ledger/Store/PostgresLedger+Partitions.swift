import PostgresNIO

/// One partition of a history table partitioned by range (docs/decisions/0040-partitioned-history.md).
public struct HistoryPartition: Sendable, Hashable, Codable {
    /// The partitioned table: `entries` (by transfer seq) or `job_runs` (by month of start).
    public var table: String
    /// The partition's table name in schema `settle`.
    public var name: String
    /// The range `[from, to)` as PostgreSQL renders the key (a transfer seq, or a timestamp); nil for
    /// the DEFAULT partition, which takes the rows no range does.
    public var from: String?
    public var to: String?
    /// Rows: counted when asked, else the planner's estimate (nil before the partition was analyzed).
    public var rows: Int64?
    /// Size on disk, indexes and TOAST included.
    public var bytes: Int64

    public var isDefault: Bool { from == nil }
}

extension PostgresLedger {
    /// Creates the partitions of `settle.entries` and `settle.job_runs` needed soon: as many ahead of
    /// the current transfer seq and month as `settle.partition_plans` says. Idempotent; returns how
    /// many it created. The worker's `partitions` job calls it.
    public func ensurePartitions() async throws(LedgerError) -> Int {
        try await database {
            let rows = try await client.query("select settle.ensure_partitions()", logger: logger)
            for try await made in rows.decode(Int32.self) { return Int(made) }
            return 0
        }
    }

    /// The partitions of the history tables with their ranges, in key order, the DEFAULT partition
    /// of each table first. `count` counts each one's rows (a scan of the whole history) instead of
    /// reading the planner's estimate.
    public func partitions(count: Bool = false) async throws(LedgerError) -> [HistoryPartition] {
        try await database {
            // A partition's name comes from the catalog, and format(%I) quotes it.
            let query: PostgresQuery = """
                select r.parent, r.partition, r.lower_bound, r.upper_bound,
                       case when \(count)
                            then (xpath('/row/n/text()',
                                        query_to_xml(format('select count(*) as n from settle.%I', r.partition),
                                                     false, true, '')))[1]::text::int8
                            when c.reltuples >= 0 then c.reltuples::int8 end,
                       pg_total_relation_size(c.oid)
                  from settle.partition_ranges r
                  join pg_class c on c.relname = r.partition and c.relnamespace = 'settle'::regnamespace
                 order by r.parent, r.is_default desc,
                          case r.parent when 'entries' then r.lower_bound::int8 end,
                          case r.parent when 'job_runs' then r.lower_bound::timestamptz end
                """
            var partitions: [HistoryPartition] = []
            for try await (table, name, from, to, rows, bytes) in try await client.query(query, logger: logger).decode(
                (String, String, String?, String?, Int64?, Int64).self)
            {
                partitions.append(HistoryPartition(table: table, name: name, from: from, to: to, rows: rows, bytes: bytes))
            }
            return partitions
        }
    }
}
