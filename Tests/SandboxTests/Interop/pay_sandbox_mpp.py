"""An MPP agent pays the sandbox's paid route with pympp's Tempo client, then reads the ledger.

Reads the sandbox's first JSON line on stdin; prints one JSON object: the unpaid answer's offers,
the paid response and its receipt, the replay's status, and the ledger once the Tempo rail has
booked the transfer (the clearing account between the MPP revenue and the chain is back to zero).
"""
import asyncio
import base64
import json
import sys
import time

import httpx
import requests
from mpp.client import Mpp
from mpp.methods.tempo import TempoAccount
from mpp.methods.tempo import client as tempo_client

info = json.loads(sys.stdin.readline())
tempo = next(n for n in info["networks"] if n["kind"] == "tempo")
offer = next(o for o in info["offers"] if o["kind"] == "tempo/charge")
headers = {"Authorization": "Bearer " + info["apiKey"]}
asset = "pathusd-" + str(tempo["chainId"])
incoming = "tempo:" + asset + ":incoming:" + info["payTo"].lower()


def balance(account):
    answer = requests.get(info["ledgerAPI"] + "/v1/accounts/" + account + "/balance", headers=headers, timeout=300)
    return answer.json() if answer.status_code == 200 else {"posted": "0", "debits_posted": "0"}


async def main():
    merchant_before = int(balance(offer["merchantAccount"])["posted"])
    incoming_before = int(balance(incoming)["debits_posted"])
    clearing_before = balance(incoming).get("posted", "0")
    unpaid = requests.get(info["paidURL"], timeout=300)
    account = TempoAccount.from_key(info["testKeys"][2])
    method = tempo_client.charge(account=account, chain_id=tempo["chainId"], rpc_url=tempo["rpcURL"])
    async with Mpp(methods=[method]) as client:
        credentials = []
        client.payment_transport.on_credential_created(lambda event: credentials.append(event["credential"]))
        paid = await client.fetch(info["paidURL"])
    header = paid.headers.get("payment-receipt", "")
    receipt = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))) if header else None
    replay = None
    if credentials:
        async with httpx.AsyncClient() as plain:
            replay = await plain.get(info["paidURL"], headers={"Authorization": credentials[-1].to_authorization()})
    deadline = time.time() + 300
    while time.time() < deadline:
        clearing = balance(incoming)
        if int(clearing["debits_posted"]) > incoming_before and clearing.get("posted") == clearing_before:
            break
        time.sleep(0.5)
    print(json.dumps({
        "unpaid_status": unpaid.status_code,
        "www_authenticate": unpaid.headers.get("WWW-Authenticate", ""),
        "payment_required": "PAYMENT-REQUIRED" in unpaid.headers,
        "paid_status": paid.status_code,
        "paid_body": paid.text,
        "receipt": receipt,
        "signed_type": credentials[-1].payload["signature"][:4] if credentials else None,
        "replay_status": replay.status_code if replay is not None else None,
        "merchant_delta": int(balance(offer["merchantAccount"])["posted"]) - merchant_before,
        "incoming": balance(incoming),
        "clearing_before": clearing_before,
        "incoming_delta": int(balance(incoming)["debits_posted"]) - incoming_before,
    }))


asyncio.run(main())
