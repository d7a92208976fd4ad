import Ledger
import RailKit

extension ReconciliationProfile {
    /// The profile of a configured rail: ``standard(for:)`` with the rails file's `reconciliation`
    /// object applied over it, key by key (the keys of the profile's JSON form, e.g.
    /// `{"sla_seconds": 7200, "amount_tolerance": "5", "time_tolerance_seconds": 60}`).
    ///
    /// Checked before any run uses it, so that a typo is an error at start-up rather than a night
    /// reconciled with the defaults.
    /// - Throws: ``ReconciliationError/Code/invalidInput`` for an unknown key, a value of the wrong
    ///   type or range, or a transition the rail's fund flow does not have.
    public static func configured(for descriptor: RailDescriptor, settings: Metadata?) throws(ReconciliationError) -> ReconciliationProfile
    {
        var profile = standard(for: descriptor)
        guard let settings else { return profile }
        let rail = descriptor.id
        func fail(_ key: String, _ message: String) -> ReconciliationError {
            ReconciliationError(.invalidInput, "rail \(rail): reconciliation.\(key) \(message)")
        }
        let transitions = Set(descriptor.fundFlow.transitions.map(\.name))
        func strings(_ key: String, _ value: JSONValue) throws(ReconciliationError) -> [String] {
            guard case .array(let items) = value else { throw fail(key, "must be an array of strings") }
            var result: [String] = []
            for item in items {
                guard case .string(let text) = item, !text.isEmpty else { throw fail(key, "must be an array of non-empty strings") }
                result.append(text)
            }
            return result
        }
        func names(_ key: String, _ value: JSONValue) throws(ReconciliationError) -> [String] {
            let list = try strings(key, value)
            if let unknown = list.first(where: { !transitions.contains($0) }) {
                throw fail(key, "names \(unknown.debugDescription), which is not a transition of the rail's fund flow")
            }
            return list
        }
        func seconds(_ key: String, _ value: JSONValue) throws(ReconciliationError) -> Int64 {
            guard case .number(let text) = value, let number = Int64(text), number >= 0, number <= 366 * 86_400 else {
                throw fail(key, "must be a whole number of seconds from 0 to 31,622,400")
            }
            return number
        }
        func amount(_ key: String, _ value: JSONValue) throws(ReconciliationError) -> UInt256 {
            switch value {
            case .string(let text), .number(let text):
                if let amount = UInt256(decimal: text) { return amount }
            default: break
            }
            throw fail(key, "must be a non-negative integer amount in base units (a string for large values)")
        }
        for key in settings.keys.sorted() {
            let value = settings[key]!
            switch key {
            case CodingKeys.statementTransitions.rawValue: profile.statementTransitions = try names(key, value)
            case CodingKeys.feeAccounts.rawValue: profile.feeAccounts = try strings(key, value)
            case CodingKeys.balanceAccounts.rawValue: profile.balanceAccounts = try strings(key, value)
            case CodingKeys.clearingAccounts.rawValue: profile.clearingAccounts = try strings(key, value)
            case CodingKeys.balanceIncludesPending.rawValue:
                guard case .bool(let flag) = value else { throw fail(key, "must be true or false") }
                profile.balanceIncludesPending = flag
            case CodingKeys.slaSeconds.rawValue: profile.slaSeconds = try seconds(key, value)
            case CodingKeys.clearingSLASeconds.rawValue: profile.clearingSLASeconds = try seconds(key, value)
            case CodingKeys.timeToleranceSeconds.rawValue: profile.timeToleranceSeconds = try seconds(key, value)
            case CodingKeys.amountTolerance.rawValue: profile.amountTolerance = try amount(key, value)
            case CodingKeys.feeAutoResolveTolerance.rawValue: profile.feeAutoResolveTolerance = try amount(key, value)
            case CodingKeys.suspenseAccount.rawValue:
                guard case .string(let template) = value, template.contains("{asset}") else {
                    throw fail(key, "must be an account template with {asset}, e.g. \"recon:{asset}:suspense\"")
                }
                profile.suspenseAccount = template
            case CodingKeys.amountMeasure.rawValue:
                guard case .string(let text) = value, let measure = AmountMeasure(rawValue: text) else {
                    throw fail(key, "must be \"debits\" or \"largest_debit\"")
                }
                profile.amountMeasure = measure
            case CodingKeys.counterparts.rawValue:
                guard case .array(let rules) = value else { throw fail(key, "must be an array of rules") }
                profile.counterparts = []
                for (index, rule) in rules.enumerated() {
                    let path = "\(key)[\(index)]"
                    guard case .object(let fields) = rule else { throw fail(path, "must be an object") }
                    func text(_ name: String) throws(ReconciliationError) -> String {
                        guard case .string(let text)? = fields[name], !text.isEmpty else {
                            throw fail("\(path).\(name)", "must be a non-empty string")
                        }
                        return text
                    }
                    let names = ["transition", "rail", "counterpart_transition", "reference_key", "sla_seconds", "matched_by"]
                    if let unknown = fields.keys.sorted().first(where: { !names.contains($0) }) {
                        throw fail("\(path).\(unknown)", "is not a setting (known: \(names.joined(separator: ", ")))")
                    }
                    let transition = try text("transition")
                    guard transitions.contains(transition) else {
                        throw fail(
                            "\(path).transition", "names \(transition.debugDescription), which is not a transition of the rail's fund flow")
                    }
                    guard let sla = fields["sla_seconds"] else { throw fail("\(path).sla_seconds", "is required") }
                    var matchedBy = CounterpartRule.MatchedBy.reference
                    if fields["matched_by"] != nil {
                        let choices = CounterpartRule.MatchedBy.allCases.map(\.rawValue)
                        guard let chosen = CounterpartRule.MatchedBy(rawValue: try text("matched_by")) else {
                            throw fail("\(path).matched_by", "must be one of \(choices.joined(separator: ", "))")
                        }
                        matchedBy = chosen
                    }
                    profile.counterparts.append(
                        CounterpartRule(
                            transition: transition, rail: try text("rail"), counterpartTransition: try text("counterpart_transition"),
                            referenceKey: try text("reference_key"), slaSeconds: try seconds("\(path).sla_seconds", sla),
                            matchedBy: matchedBy))
                }
            default:
                let known = CodingKeys.allCases.map(\.rawValue).filter { $0 != CodingKeys.groups.rawValue }.sorted()
                throw fail(key, "is not a setting (known: \(known.joined(separator: ", ")))")
            }
        }
        return profile
    }
}
