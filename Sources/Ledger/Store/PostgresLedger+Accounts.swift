import Foundation
import PostgresNIO

/// The outcome of creating an asset or account.
public enum CreateResult: Sendable, Hashable {
    case created
    /// It existed already with the same fields; nothing was written.
    case exists
    case rejected(LedgerError)
}

extension PostgresLedger {
    /// Creates assets; an asset that exists with the same fields is `exists`, with other fields
    /// ``LedgerError/Code/existsWithDifferentFields``.
    public func createAssets(_ assets: [Asset]) async throws(LedgerError) -> [CreateResult] {
        var results: [CreateResult] = []
        for asset in assets {
            do {
                try asset.validate()
            } catch {
                results.append(.rejected(error))
                continue
            }
            let result: CreateResult = try await database(retries: 3) {
                let meta = asset.metadata.canonicalJSON
                let inserted = try await client.query(
                    """
                    insert into settle.assets (id, code, scale, rail, network, token, metadata)
                    values (\(asset.id.rawValue), \(asset.code), \(Int16(asset.scale)), \(asset.rail), \(asset.network),
                            \(asset.token), \(meta)::jsonb)
                    on conflict do nothing returning id
                    """, logger: logger)
                for try await _ in inserted.decode(String.self) { return .created }
                let same = try await client.query(
                    """
                    select id, code = \(asset.code) and scale = \(Int16(asset.scale)) and rail is not distinct from \(asset.rail)
                           and network is not distinct from \(asset.network) and token is not distinct from \(asset.token)
                           and metadata = \(meta)::jsonb
                      from settle.assets
                     where id = \(asset.id.rawValue) or (network = \(asset.network) and token = \(asset.token))
                    """, logger: logger)
                for try await (id, equal) in same.decode((String, Bool).self) {
                    if id != asset.id.rawValue {
                        return .rejected(LedgerError(.existsWithDifferentFields, "asset \(id) already has network \(asset.network ?? "") and token \(asset.token ?? "")"))
                    }
                    return equal ? .exists : .rejected(LedgerError(.existsWithDifferentFields, "asset \(asset.id) exists with different fields"))
                }
                throw LedgerError(.database, "asset \(asset.id) was neither inserted nor found")
            }
            results.append(result)
        }
        return results
    }

    /// Creates accounts in one round trip per call; one result per account, in order.
    public func createAccounts(_ accounts: [Account]) async throws(LedgerError) -> [CreateResult] {
        guard accounts.count <= Self.maxBatchSize else {
            throw LedgerError(.batchTooLarge, "a batch takes at most \(Self.maxBatchSize) accounts, got \(accounts.count)")
        }
        var results = [CreateResult?](repeating: nil, count: accounts.count)
        var valid: [Int] = []
        var seen: [AccountID: Int] = [:]
        var externalIDs: Set<String> = []
        for (k, account) in accounts.enumerated() {
            do {
                try account.validate()
                if let first = seen[account.id] {
                    results[k] = accounts[first] == account ? .exists : .rejected(LedgerError(.existsWithDifferentFields, "account \(account.id) appears twice in the batch with different fields"))
                    continue
                }
                if let ext = account.externalID, !externalIDs.insert(ext).inserted {
                    results[k] = .rejected(LedgerError(.externalIDExists, "account \(account.id): external id is used by another account of the batch"))
                    continue
                }
                seen[account.id] = k
                valid.append(k)
            } catch {
                results[k] = .rejected(error)
            }
        }
        let batch = valid.map { accounts[$0] }
        let ids = batch.map(\.id.rawValue)
        let assets = batch.map(\.asset.rawValue)
        let codes = batch.map(\.code)
        let normals = batch.map { $0.normalSide == .debit ? "D" : "C" }
        let flags = batch.map(\.limit.flags)
        let externals = batch.map { $0.externalID ?? "" }
        let metas = batch.map(\.metadata.canonicalJSON)
        let closed = batch.map(\.closed)
        let rows: [(Int, String?)] = try await database(retries: 5) {
            // One statement: find the asset and any existing account, insert the new ones, and say
            // for each input whether it was created, existed equal, or why not.
            let query: PostgresQuery = """
                with u as (
                    select * from unnest(\(ids)::text[], \(assets)::text[], \(codes)::text[], \(normals)::text[],
                                         \(flags)::int2[], \(externals)::text[], \(metas)::text[], \(closed)::bool[])
                           with ordinality as u(id, asset, code, normal, flags, ext, meta, closed, i)),
                c as (
                    select u.*, a.id is not null as asset_ok, x.num as existing,
                           x.num is not null and x.asset_id = u.asset and x.code = u.code and x.normal = u.normal::"char"
                               and x.flags = u.flags and x.external_id is not distinct from nullif(u.ext, '')
                               and x.metadata = u.meta::jsonb and x.closed = u.closed as same,
                           e.id as ext_owner
                      from u
                      left join settle.assets a on a.id = u.asset
                      left join settle.accounts x on x.id = u.id
                      left join settle.accounts e on u.ext <> '' and e.external_id = u.ext),
                ins as (
                    insert into settle.accounts (id, asset_id, code, normal, flags, external_id, metadata, closed)
                    select c.id, c.asset, c.code, c.normal::"char", c.flags, nullif(c.ext, ''), c.meta::jsonb, c.closed
                      from c where c.asset_ok and c.existing is null and c.ext_owner is null
                    order by c.i
                    returning num, id),
                bal as (insert into settle.balances (account_num) select num from ins)
                select c.i::int8,
                       case when c.existing is not null then case when c.same then 'exists' else 'exists_with_different_fields' end
                            when not c.asset_ok then 'asset_not_found'
                            when c.ext_owner is not null then 'external_id_exists'
                            when ins.num is not null then 'created' end
                  from c left join ins on ins.id = c.id
                 order by c.i
                """
            var out: [(Int, String?)] = []
            for try await (i, status) in try await client.query(query, logger: logger).decode((Int64, String?).self) {
                out.append((Int(i) - 1, status))
            }
            return out
        }
        for (i, status) in rows {
            let k = valid[i]
            let id = accounts[k].id
            switch status {
            case "created": results[k] = .created
            case "exists": results[k] = .exists
            case "exists_with_different_fields":
                results[k] = .rejected(LedgerError(.existsWithDifferentFields, "account \(id) exists with different fields"))
            case "asset_not_found":
                results[k] = .rejected(LedgerError(.assetNotFound, "account \(id): asset \(accounts[k].asset) does not exist"))
            case "external_id_exists":
                results[k] = .rejected(LedgerError(.externalIDExists, "account \(id): external id is used by another account"))
            default:
                results[k] = .rejected(LedgerError(.database, "account \(id) was neither created nor found"))
            }
        }
        return results.map { $0 ?? .rejected(LedgerError(.database, "no result")) }
    }

    /// Closes an account: it takes no new transfers (holds on it can still be voided or expire).
    public func closeAccount(_ id: AccountID) async throws(LedgerError) {
        let found: Bool = try await database {
            let rows = try await client.query("update settle.accounts set closed = true where id = \(id.rawValue) returning num", logger: logger)
            for try await _ in rows.decode(Int64.self) { return true }
            return false
        }
        guard found else { throw LedgerError(.accountNotFound, "account \(id) does not exist") }
    }

    /// The account with this id, or nil.
    public func account(_ id: AccountID) async throws(LedgerError) -> Account? {
        try await database {
            let rows = try await client.query(
                """
                select id, asset_id, code, normal::text, flags, external_id, metadata::text, closed, created_at
                  from settle.accounts where id = \(id.rawValue)
                """, logger: logger)
            for try await (id, asset, code, normal, flags, ext, meta, closed, created) in rows.decode(
                (String, String, String, String, Int16, String?, String, Bool, Date).self)
            {
                return Account(
                    id: AccountID(internal: id), asset: AssetID(internal: asset), code: code,
                    normalSide: normal == "D" ? .debit : .credit, limit: .init(flags: flags), externalID: ext,
                    metadata: Metadata(jsonText: meta), closed: closed, createdAt: created)
            }
            return nil
        }
    }

    /// Every asset, ordered by id.
    public func assets() async throws(LedgerError) -> [Asset] {
        try await database {
            var out: [Asset] = []
            let rows = try await client.query(
                "select id, code, scale, rail, network, token, metadata::text from settle.assets order by id", logger: logger)
            for try await (id, code, scale, rail, network, token, meta) in rows.decode(
                (String, String, Int16, String?, String?, String?, String).self)
            {
                out.append(
                    Asset(
                        id: AssetID(internal: id), code: code, scale: Int(scale), rail: rail, network: network, token: token,
                        metadata: Metadata(jsonText: meta)))
            }
            return out
        }
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// Decodes a JSON object as stored by the database; anything else gives an empty object.
    init(jsonText: String) {
        self = (try? JSONDecoder().decode(Metadata.self, from: Data(jsonText.utf8))) ?? [:]
    }
}
