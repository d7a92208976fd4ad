import Foundation
import Ledger
import RailKit
import Reconciliation
import Testing

/// A rail's `reconciliation` object in the rails file: applied over its kind's profile, every key
/// checked, so that a typo stops the command instead of reconciling a night with the defaults.
@Suite("Reconciliation settings in the rails file")
struct ProfileSettingsTests {
    static let rail = FakeRail(id: "fake", asset: try! AssetID("usd-fake"))

    static func configured(_ json: String) throws(ReconciliationError) -> ReconciliationProfile {
        let settings = try! JSONDecoder().decode(Metadata.self, from: Data(json.utf8))
        return try ReconciliationProfile.configured(for: rail.descriptor, settings: settings)
    }

    @Test func noSettingsIsTheStandardProfile() throws {
        let standard = ReconciliationProfile.standard(for: Self.rail.descriptor)
        #expect(try ReconciliationProfile.configured(for: Self.rail.descriptor, settings: nil) == standard)
        #expect(try Self.configured("{}") == standard)
    }

    @Test func settingsOverrideTheirFieldsOnly() throws {
        let profile = try Self.configured(
            """
            {"sla_seconds": 7200, "clearing_sla_seconds": 0, "amount_tolerance": "115792089237316195423570985008687907853269984665640564039457584007913129639935",
             "time_tolerance_seconds": 60, "fee_auto_resolve_tolerance": 3, "suspense_account": "ops:{asset}:suspense",
             "statement_transitions": ["received", "settled"], "balance_accounts": ["fake:{asset}:cash"],
             "balance_includes_pending": true, "amount_measure": "largest_debit"}
            """)
        #expect(profile.slaSeconds == 7_200 && profile.clearingSLASeconds == 0 && profile.timeToleranceSeconds == 60)
        #expect(profile.amountTolerance == UInt256.max && profile.feeAutoResolveTolerance == 3)
        #expect(profile.suspenseAccount == "ops:{asset}:suspense" && profile.balanceIncludesPending)
        #expect(profile.amountMeasure == .largestDebit)
        #expect(profile.statementTransitions == ["received", "settled"] && profile.balanceAccounts == ["fake:{asset}:cash"])
        // Untouched: the standard profile's clearing accounts.
        #expect(profile.clearingAccounts == ReconciliationProfile.standard(for: Self.rail.descriptor).clearingAccounts)
    }

    @Test(arguments: [
        (#"{"sla": 60}"#, "reconciliation.sla is not a setting"),
        (#"{"sla_seconds": -1}"#, "reconciliation.sla_seconds must be a whole number"),
        (#"{"sla_seconds": 1.5}"#, "reconciliation.sla_seconds must be a whole number"),
        (#"{"sla_seconds": "60"}"#, "reconciliation.sla_seconds must be a whole number"),
        (#"{"amount_tolerance": "-1"}"#, "reconciliation.amount_tolerance must be a non-negative integer"),
        (#"{"amount_tolerance": "1e3"}"#, "reconciliation.amount_tolerance must be a non-negative integer"),
        (#"{"statement_transitions": ["captured"]}"#, "\"captured\", which is not a transition"),
        (#"{"statement_transitions": "received"}"#, "reconciliation.statement_transitions must be an array"),
        (#"{"fee_accounts": [""]}"#, "must be an array of non-empty strings"),
        (#"{"suspense_account": "suspense"}"#, "must be an account template with {asset}"),
        (#"{"balance_includes_pending": "yes"}"#, "must be true or false"),
        (#"{"amount_measure": "sum"}"#, "must be \"debits\" or \"largest_debit\""),
    ])
    func badSettingsAreRefusedByName(json: String, message: String) {
        #expect {
            try Self.configured(json)
        } throws: { error in
            guard let error = error as? ReconciliationError else { return false }
            return error.code == .invalidInput && error.message.contains(message) && error.message.hasPrefix("rail fake:")
        }
    }

    @Test func theRailsFileCarriesThemBesideTheRailsOwnSettings() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rails-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(
            #"{"rails": [{"id": "fake", "kind": "fake", "settings": {"x": 1}, "reconciliation": {"sla_seconds": 60}}, {"id": "b", "kind": "fake", "settings": {}}]}"#
                .utf8
        ).write(to: URL(fileURLWithPath: path))
        let rails = try RailConfiguration.load(path: path)
        #expect(rails.map(\.reconciliation) == [["sla_seconds": .number("60")], nil])
        #expect(try ReconciliationProfile.configured(for: Self.rail.descriptor, settings: rails[0].reconciliation).slaSeconds == 60)
    }
}
