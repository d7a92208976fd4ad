"""pympp 0.16.0's Tempo client pays Settle's tempo/charge routes, unmodified.

Usage: pympp_pays_settle.py <settle_url> <rpc_url> <chain_id> <payer_key> <path>...

For each path: the client (mpp.client.Mpp with tempo.client.charge) gets the 402, signs a 0x76
transaction (a 0x78 fee payer envelope when the offer sponsors the fee) and retries; then the
same credential is replayed with a plain HTTP client. Prints one JSON object per path.
"""

import asyncio
import base64
import json
import sys

import httpx
from mpp.client import Mpp
from mpp.methods.tempo import TempoAccount
from mpp.methods.tempo import client as tempo_client


async def main():
    base, rpc_url, chain_id, payer_key = sys.argv[1:5]
    paths = sys.argv[5:]
    result = {}
    method = tempo_client.charge(account=TempoAccount.from_key(payer_key), chain_id=int(chain_id), rpc_url=rpc_url)
    async with Mpp(methods=[method]) as client:
        credentials = []
        client.payment_transport.on_credential_created(lambda event: credentials.append(event["credential"]))
        for path in paths:
            credentials.clear()
            response = await client.fetch(base + path)
            entry = {"status": response.status_code, "body": response.text}
            header = response.headers.get("payment-receipt")
            if header:
                entry["receipt"] = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
            entry["cacheControl"] = response.headers.get("cache-control")
            if credentials:
                credential = credentials[-1]
                async with httpx.AsyncClient() as plain:
                    replay = await plain.get(base + path, headers={"Authorization": credential.to_authorization()})
                entry["replayStatus"] = replay.status_code
                entry["replayBody"] = replay.text
                entry["replayChallenges"] = len(replay.headers.get_list("www-authenticate"))
                entry["signedType"] = credential.payload["signature"][:4]
                entry["source"] = credential.source
            result[path] = entry
    print(json.dumps(result))


asyncio.run(main())
