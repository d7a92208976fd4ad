import Foundation

/// The bank-file rail (`Plugins/BankFileRail`, the Python process rail) as a rails file's
/// `settings` for it, in USD on `directory`: what a user writes, for tests that run the real one.
public enum BankFileRailSettings {
    public static func settings(directory: String, asset: String, merchant: String) -> [String: Any] {
        [
            "command": [
                InteropPython.interpreter ?? "python3",
                InteropPython.repositoryRoot.appendingPathComponent("Plugins/BankFileRail/bank_file_rail.py").path,
            ],
            "directory": directory, "asset": asset, "currency": "USD", "scale": 2, "merchant_account": merchant,
        ]
    }
}
