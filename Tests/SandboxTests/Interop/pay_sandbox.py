"""An agent pays the sandbox's paid route with the official x402 client, then reads the ledger.

Reads the sandbox's first JSON line on stdin; prints one JSON object: the paid response and the
ledger balances once the chain rail has booked the payment final; then pays again and reorganizes
the chain under that payment before it is final, and reports how the ledger followed.
"""
import base64
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
    answer = requests.get(info["ledgerAPI"] + "/v1/accounts/" + account + "/balance", headers=headers, timeout=300)
    return answer.json() if answer.status_code == 200 else {"posted": "0", "debits_posted": "0"}


headers = {"Authorization": "Bearer " + info["apiKey"]}
incoming = "evm:usdc-31337:incoming:" + info["payTo"].lower()
merchant_before = int(balance(info["merchantAccount"])["posted"])
incoming_before = int(balance(incoming)["debits_posted"])
# The sandbox keeps its books across runs: a run stopped before its payments were final leaves them
# in the clearing account, so it must come back to where it was, not to zero.
clearing_before = balance(incoming).get("posted", "0")

unpaid = requests.get(info["paidURL"], timeout=300)
paid = session.get(info["paidURL"], timeout=300)
# The chain rail books the payment final after its confirmations; the sandbox mines a block a second.
deadline = time.time() + 300
while time.time() < deadline:
    clearing = balance(incoming)
    if int(clearing["debits_posted"]) > incoming_before and clearing.get("posted") == clearing_before:
        break
    time.sleep(0.5)
first = {
    "unpaid_status": unpaid.status_code,
    "payment_required": "PAYMENT-REQUIRED" in unpaid.headers,
    "paid_status": paid.status_code,
    "paid_body": paid.text,
    "payment_response": paid.headers.get("PAYMENT-RESPONSE", ""),
    "merchant_delta": int(balance(info["merchantAccount"])["posted"]) - merchant_before,
    "incoming": balance(incoming),
    "clearing_before": clearing_before,
    "incoming_delta": int(balance(incoming)["debits_posted"]) - incoming_before,
}

# A second payment, whose block is reorganized away once the chain rail has seen it, before it is
# final: the rail voids what it held, and holds the payment again when the chain re-mines it.
rpc = info["networks"][0]["rpcURL"]


def call(method, params):
    answer = requests.post(rpc, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=300).json()
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


wallet = "evm:usdc-31337:wallet:" + info["payTo"].lower()


def entries(account):
    answer = requests.get(info["ledgerAPI"] + "/v1/accounts/" + account + "/entries?limit=1000", headers=headers, timeout=300)
    return answer.json().get("items", []) if answer.status_code == 200 else []


entries_before = len(entries(wallet))
wallet_pending_before = int(balance(wallet).get("debits_pending", "0"))
incoming_before = int(balance(incoming)["debits_posted"])
again = session.get(info["paidURL"], timeout=300)
settled = json.loads(base64.b64decode(again.headers.get("PAYMENT-RESPONSE", "e30=")))
tx = settled.get("transaction", "")
deadline = time.time() + 300
while time.time() < deadline and int(balance(wallet).get("debits_pending", "0")) <= wallet_pending_before:
    time.sleep(0.1)
seen_before_reorg = int(balance(wallet).get("debits_pending", "0")) - wallet_pending_before
receipt = call("eth_getTransactionReceipt", [tx])
# By block number, not depth: the chain mines every second, and a depth computed from a head read
# a moment earlier could miss the payment's block.
call("devchain_reorg", [{"fromBlock": receipt["blockNumber"], "requeue": True}])
deadline = time.time() + 300
while time.time() < deadline:
    clearing = balance(incoming)
    if int(clearing["debits_posted"]) > incoming_before and clearing.get("posted") == clearing_before and int(balance(wallet).get("debits_pending", "0")) == wallet_pending_before:
        break
    time.sleep(0.5)
remined = call("eth_getTransactionReceipt", [tx])
# The wallet's new entries, oldest first, one line per transfer: what the rail booked, in order.
booked = []
for entry in sorted(entries(wallet), key=lambda e: int(e["version"]))[entries_before:]:
    if not booked or booked[-1][0] != entry["transfer"]:
        booked.append((entry["transfer"], entry["transfer_kind"]))
first.update({
    "reorg_paid_status": again.status_code,
    "reorg_seen_before_reorg": seen_before_reorg,
    "reorg_remined": remined is not None and remined["blockHash"] != receipt["blockHash"],
    "reorg_wallet_bookings": [kind for _, kind in booked],
    "reorg_incoming": balance(incoming),
    "reorg_incoming_delta": int(balance(incoming)["debits_posted"]) - incoming_before,
})
print(json.dumps(first))
