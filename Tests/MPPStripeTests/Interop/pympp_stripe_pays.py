"""Pays a Settle route with pympp 0.16.0's stripe/charge client (unmodified), then replays its
credential.

Reads one JSON object on stdin: {"url", "mock", "apiKey", "paymentMethod", "networkId"}. The
client's create_token callback mints a Shared Payment Token on the card mock (`settle cardmock`)
with the challenge's limits, as a buyer's wallet would. Prints one JSON object: the paid answer
(status, body, decoded Payment-Receipt, Cache-Control), the token minted, and the replay's answer.
"""

import asyncio
import json
import sys

import httpx
from mpp import Receipt
from mpp.client import Mpp
from mpp.methods.stripe import client as stripe


async def main() -> None:
    config = json.load(sys.stdin)
    tokens: list[str] = []
    credentials: list[str] = []

    async def create_token(params: stripe.OnChallengeParameters) -> str:
        async with httpx.AsyncClient(timeout=300) as http:
            answer = await http.post(
                config["mock"] + "/v1/test_helpers/shared_payment/granted_tokens",
                headers={"Authorization": "Bearer " + config["apiKey"]},
                data={
                    "payment_method": params.payment_method,
                    "usage_limits[currency]": params.currency,
                    "usage_limits[max_amount]": params.amount,
                    "usage_limits[expires_at]": str(params.expires_at),
                    "seller_details[network_id]": params.network_id,
                },
            )
            answer.raise_for_status()
            token = answer.json()["id"]
            tokens.append(token)
            return token

    method = stripe.charge(create_token=create_token, payment_method=config["paymentMethod"])
    async with Mpp(methods=[method]) as mpp:
        mpp.on_credential_created(lambda event: credentials.append(event["credential"].to_authorization()))
        paid = await mpp.fetch(config["url"])
        receipt_header = paid.headers.get("Payment-Receipt")
        receipt = Receipt.from_payment_receipt(receipt_header) if receipt_header else None

    replay_status = None
    replay_body = None
    if credentials:
        async with httpx.AsyncClient(timeout=300) as http:
            replay = await http.get(config["url"], headers={"Authorization": credentials[0]})
            replay_status = replay.status_code
            replay_body = replay.json() if replay.headers.get("content-type", "").startswith("application/") else replay.text

    print(
        json.dumps(
            {
                "status": paid.status_code,
                "body": paid.text,
                "cacheControl": paid.headers.get("Cache-Control"),
                "receipt": None
                if receipt is None
                else {"status": receipt.status, "method": receipt.method, "reference": receipt.reference},
                "tokens": tokens,
                "replayStatus": replay_status,
                "replayProblem": replay_body,
                "replayChallenges": len(replay.headers.get_list("www-authenticate")) if credentials else None,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
