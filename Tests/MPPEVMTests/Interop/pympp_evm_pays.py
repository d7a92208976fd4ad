"""Pays a Settle route with pympp 0.16.0's evm/charge client (unmodified), then replays its
credential.

Reads one JSON object on stdin: {"url", "privateKey", "currency", "chainId", "decimals", "name",
"version"}. Prints one JSON object: the paid answer (status, body, decoded Payment-Receipt,
Cache-Control), the payload the client signed, and the replay's answer.
"""

import asyncio
import json
import sys

import httpx
from eth_account import Account
from mpp import Receipt
from mpp.client import Mpp
from mpp.methods.evm import client as evm


async def main() -> None:
    config = json.load(sys.stdin)
    account = Account.from_key(config["privateKey"])
    credentials = []

    method = evm.charge(
        currency=config["currency"],
        account=account,
        chain_id=config["chainId"],
        decimals=config["decimals"],
        authorization={"name": config["name"], "version": config["version"]},
    )
    async with Mpp(methods=[method]) as mpp:
        mpp.on_credential_created(lambda event: credentials.append(event["credential"]))
        paid = await mpp.fetch(config["url"])
        receipt_header = paid.headers.get("Payment-Receipt")
        receipt = Receipt.from_payment_receipt(receipt_header) if receipt_header else None

    replay_status = None
    replay_body = None
    replay_challenges = None
    if credentials:
        async with httpx.AsyncClient(timeout=300) as http:
            replay = await http.get(config["url"], headers={"Authorization": credentials[0].to_authorization()})
            replay_status = replay.status_code
            replay_body = replay.json()
            replay_challenges = len(replay.headers.get_list("www-authenticate"))

    print(
        json.dumps(
            {
                "payer": account.address,
                "status": paid.status_code,
                "body": paid.text,
                "cacheControl": paid.headers.get("Cache-Control"),
                "receipt": None
                if receipt is None
                else {"status": receipt.status, "method": receipt.method, "reference": receipt.reference},
                "payload": credentials[0].payload if credentials else None,
                "source": credentials[0].source if credentials else None,
                "replayStatus": replay_status,
                "replayProblem": replay_body,
                "replayChallenges": replay_challenges,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
