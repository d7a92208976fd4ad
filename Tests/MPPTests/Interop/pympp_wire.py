"""pympp 0.16.0 as the oracle for Settle's MPP wire layer (run by PymppInteropTests).

Reads one JSON object on stdin:
  secret, realm            the shared challenge secret and realm
  challenges               WWW-Authenticate values Settle rendered
  authorization            an Authorization value Settle encoded
  receipt                  a Payment-Receipt value Settle encoded
and prints one JSON object: what pympp's own functions make of each, plus a challenge and a
credential pympp built for Settle to parse and verify. Only public pympp API is used.
"""

import json
import sys
from datetime import UTC

from mpp import Challenge, Credential, Receipt, generate_challenge_id
from mpp.errors import (
    CredentialReplayedError,
    InvalidChallengeError,
    MalformedCredentialError,
    PaymentExpiredError,
    PaymentMethodUnsupportedError,
    PaymentRequiredError,
    VerificationFailedError,
)

given = json.load(sys.stdin)
secret, realm = given["secret"], given["realm"]

parsed = []
for value in given["challenges"]:
    challenge = Challenge.from_www_authenticate(value)
    recomputed = generate_challenge_id(
        secret_key=secret,
        realm=challenge.realm,
        method=challenge.method,
        intent=challenge.intent,
        request=challenge.request,
        expires=challenge.expires,
        digest=challenge.digest,
        opaque=challenge.opaque,
        header=challenge.header,
    )
    # (b) a credential for it, exactly as pympp's client builds one.
    credential = Credential(
        challenge=challenge.to_echo(),
        payload={"type": "hash", "hash": "0x" + "ab" * 32},
        source="did:pkh:eip155:4217:0x00000000000000000000000000000000000000aa",
    )
    parsed.append(
        {
            "id": challenge.id,
            "recomputedId": recomputed,
            "verifies": challenge.verify(secret, challenge.realm),
            "request": challenge.request,
            "requestB64": challenge.request_b64,
            "opaque": challenge.opaque,
            "expires": challenge.expires,
            "digest": challenge.digest,
            "description": challenge.description,
            "header": challenge.header,
            "credentialHeader": challenge.credential_header,
            "authorization": credential.to_authorization(),
        }
    )

settle_credential = Credential.from_authorization(given["authorization"])
echo = settle_credential.challenge
settle_receipt = Receipt.from_payment_receipt(given["receipt"])

# A challenge pympp issues, for Settle to parse and verify.
issued = Challenge.create(
    secret_key=secret,
    realm=realm,
    method="tempo",
    intent="charge",
    request={"amount": "2500", "currency": "0x20c0000000000000000000000000000000000000", "recipient": "0x" + "cd" * 20},
    expires="2099-01-01T00:00:00.000000Z",
    digest="sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    description="pympp's offer ☕",
    meta={"_mpp_nonce": "00" * 32, "route": "/paid"},
    header="Payment-Authorization",
)

problems = {
    "payment-required": PaymentRequiredError(realm),
    "malformed-credential": MalformedCredentialError("x"),
    "invalid-challenge": InvalidChallengeError("id", "x"),
    "payment-expired": PaymentExpiredError("t"),
    "verification-failed": VerificationFailedError("x"),
    "credential-replayed": CredentialReplayedError(),
    "method-unsupported": PaymentMethodUnsupportedError("x"),
}

json.dump(
    {
        "parsed": parsed,
        "credential": {
            "id": echo.id,
            "realm": echo.realm,
            "method": echo.method,
            "intent": echo.intent,
            "request": echo.request,
            "expires": echo.expires,
            "digest": echo.digest,
            "opaque": echo.opaque,
            "header": echo.header,
            "description": echo.description,
            "payload": settle_credential.payload,
            "source": settle_credential.source,
        },
        "receipt": {
            "method": settle_receipt.method,
            "reference": settle_receipt.reference,
            "timestamp": settle_receipt.timestamp.astimezone(UTC).isoformat(),
            "fundingCurrency": settle_receipt.funding_currency,
            "extensions": settle_receipt.extensions,
        },
        "issued": {"wwwAuthenticate": issued.to_www_authenticate(realm), "id": issued.id},
        "problems": {
            code: {"type": p.type, "status": p.status, "title": p.title} for code, p in problems.items()
        },
    },
    sys.stdout,
)
