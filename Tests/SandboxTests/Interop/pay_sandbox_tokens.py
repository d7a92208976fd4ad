"""An agent pays the sandbox's usage-priced route (x402 upto) with the official x402 client.

Reads the sandbox's first JSON line on stdin; lets Permit2 move the agent's USDC (once, as any
Permit2 payer does), pays `tokensURL`, and prints one JSON object: the paid answer, the settlement,
what moved on chain to payTo, what the ledger booked to the merchant, and the clearing account
once the chain rail has booked the transfer final.
"""
import base64
import json
import sys
import time

import requests
from eth_account import Account
from web3 import Web3
from x402 import x402ClientSync
from x402.http.clients import wrapRequestsWithPayment
from x402.mechanisms.evm.constants import BALANCE_OF_ABI, ERC20_APPROVE_ABI, PERMIT2_ADDRESS
from x402.mechanisms.evm.upto import UptoEvmClientScheme

info = json.loads(sys.stdin.readline())
chain = next(n for n in info["networks"] if n["kind"] == "erc20")
agent = Account.from_key(info["testKeys"][6])
w3 = Web3(Web3.HTTPProvider(chain["rpcURL"]))
usdc = w3.eth.contract(address=chain["tokens"][0]["address"], abi=ERC20_APPROVE_ABI + BALANCE_OF_ABI)
approve = usdc.functions.approve(PERMIT2_ADDRESS, 2**256 - 1).build_transaction(
    {"from": agent.address, "nonce": w3.eth.get_transaction_count(agent.address)})
w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(agent.sign_transaction(approve).raw_transaction))

headers = {"Authorization": "Bearer " + info["apiKey"]}


def balance(account):
    answer = requests.get(info["ledgerAPI"] + "/v1/accounts/" + account + "/balance", headers=headers, timeout=300)
    return answer.json() if answer.status_code == 200 else {"posted": "0", "debits_posted": "0"}


def posted(account):
    return int(balance(account)["posted"])


incoming = "evm:usdc-31337:incoming:" + info["payTo"].lower()
clearing_before = balance(incoming).get("posted", "0")
incoming_before = int(balance(incoming)["debits_posted"])
merchant_before = posted(info["merchantAccount"])
pay_to_before = usdc.functions.balanceOf(info["payTo"]).call()

client = x402ClientSync()
client.register(chain["caip2"], UptoEvmClientScheme(agent))
client.set_spend_controls(False)  # the dev chain's USDC is not a built-in asset
session = wrapRequestsWithPayment(requests.Session(), client)
unpaid = requests.get(info["tokensURL"], timeout=300)
paid = session.get(info["tokensURL"], timeout=300)
settled = json.loads(base64.b64decode(paid.headers.get("PAYMENT-RESPONSE", "e30=")))
merchant_delta = posted(info["merchantAccount"]) - merchant_before
# The chain rail books the transfer to payTo final after its confirmations (a block a second).
deadline = time.time() + 90
while time.time() < deadline:
    clearing = balance(incoming)
    if int(clearing["debits_posted"]) > incoming_before and clearing.get("posted") == clearing_before:
        break
    time.sleep(0.5)
print(json.dumps({
    "unpaid_status": unpaid.status_code,
    "paid_status": paid.status_code,
    "paid_body": paid.json() if paid.status_code == 200 else paid.text,
    "settled": settled,
    "pay_to_delta": usdc.functions.balanceOf(info["payTo"]).call() - pay_to_before,
    "merchant_delta": merchant_delta,
    "incoming_delta": int(balance(incoming)["debits_posted"]) - incoming_before,
    "clearing_back": balance(incoming).get("posted") == clearing_before,
}))
