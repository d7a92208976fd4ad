"""An agent pays the sandbox's paid route with the official x402 client, then reads the ledger.

Reads the sandbox's first JSON line on stdin; prints one JSON object: the paid response and the
ledger balances once the chain rail has booked the payment final.
"""
import json
import sys
import time

import requests
from eth_account import Account
from x402 import x402ClientSync
from x402.http.clients import wrapRequestsWithPayment
from x402.mechanisms.evm.exact import register_exact_evm_client

info = json.loads(sys.stdin.readline())
agent = Account.from_key(info["testKeys"][1])
client = x402ClientSync()
register_exact_evm_client(client, agent, networks=info["networks"][0]["caip2"])
# The sandbox's token is not one of the client's built-in assets: allow it explicitly (x402.md §4.1).
token = info["networks"][0]["tokens"][0]
client.set_spend_controls({"allowed_assets": [{"network": info["networks"][0]["caip2"], "asset": token["address"],
                                               "max_amount_per_payment": "1000000"}]})
session = wrapRequestsWithPayment(requests.Session(), client)

def balance(account):
    answer = requests.get(info["ledgerAPI"] + "/v1/accounts/" + account + "/balance", headers=headers, timeout=10)
    return answer.json() if answer.status_code == 200 else {"posted": "0", "debits_posted": "0"}


headers = {"Authorization": "Bearer " + info["apiKey"]}
incoming = "evm:usdc-31337:incoming:" + info["payTo"].lower()
merchant_before = int(balance(info["merchantAccount"])["posted"])
incoming_before = int(balance(incoming)["debits_posted"])

unpaid = requests.get(info["paidURL"], timeout=10)
paid = session.get(info["paidURL"], timeout=30)
# The chain rail books the payment final after its confirmations; the sandbox mines a block a second.
deadline = time.time() + 20
while time.time() < deadline:
    clearing = balance(incoming)
    if int(clearing["debits_posted"]) > incoming_before and clearing.get("posted") == "0":
        break
    time.sleep(0.5)
print(json.dumps({
    "unpaid_status": unpaid.status_code,
    "payment_required": "PAYMENT-REQUIRED" in unpaid.headers,
    "paid_status": paid.status_code,
    "paid_body": paid.text,
    "payment_response": paid.headers.get("PAYMENT-RESPONSE", ""),
    "merchant_delta": int(balance(info["merchantAccount"])["posted"]) - merchant_before,
    "incoming": balance(incoming),
    "incoming_delta": int(balance(incoming)["debits_posted"]) - incoming_before,
}))
