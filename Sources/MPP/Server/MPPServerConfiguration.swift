import Foundation

/// The server side of the `Payment` scheme: who it is, how it binds challenges, how long they live.
public struct MPPServerConfiguration: Sendable {
    /// The protection space of the challenges (pympp's `MPP_REALM`), usually the API's host name.
    public var realm: String
    /// The HMAC secrets: the first signs, all verify (rotation with an overlap window).
    public var secrets: ChallengeSecrets
    /// How long a challenge can be paid.
    public var challengeLifetime: Duration
    /// The credential header advertised in challenges: nil for `Authorization`, or
    /// `Payment-Authorization` when the API already uses `Authorization` for its own keys.
    public var credentialHeader: String?
    /// The largest request body read to check a bound digest.
    public var maxBodyBytes: Int
    /// The clock challenges are issued and checked by.
    public var now: @Sendable () -> Date

    public init(
        realm: String, secrets: ChallengeSecrets, challengeLifetime: Duration = .seconds(300), credentialHeader: String? = nil,
        maxBodyBytes: Int = 1 << 20, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.realm = realm
        self.secrets = secrets
        self.challengeLifetime = challengeLifetime
        self.credentialHeader = credentialHeader
        self.maxBodyBytes = maxBodyBytes
        self.now = now
    }
}
