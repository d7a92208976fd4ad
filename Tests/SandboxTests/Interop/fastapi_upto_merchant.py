"""A FastAPI merchant with a usage-priced route (x402 upto) behind the official x402 middleware, with
`settle serve` as its facilitator, paid by the official upto client; all unmodified PyPI packages.

Usage: fastapi_upto_merchant.py <facilitator_url> <access_token> <usdc> <pay_to> <payer_key> <chain_id> <rpc_url>

The payer first lets Permit2 move its USDC (one transaction, as any Permit2 payer does). The route
signs for at most 5000 units; its handler charges 1234 with `set_settlement_overrides`, which the
official middleware sends to Settle's /settle. Prints one JSON object.
"""
import base64
import json
import sys

import requests
from eth_account import Account
from fastapi import FastAPI, Response
from web3 import Web3
from x402 import x402ClientSync, x402ResourceServer
from x402.http import HTTPFacilitatorClient
from x402.http.clients import wrapRequestsWithPayment
from x402.http.middleware.fastapi import payment_middleware, set_settlement_overrides
from x402.mechanisms.evm.constants import ERC20_APPROVE_ABI, PERMIT2_ADDRESS
from x402.mechanisms.evm.upto import UptoEvmClientScheme, UptoEvmServerScheme
from local_app import serve

facilitator_url, token, usdc, pay_to, payer_key, chain_id, rpc_url = sys.argv[1:8]
network = "eip155:" + chain_id
payer = Account.from_key(payer_key)

w3 = Web3(Web3.HTTPProvider(rpc_url))
approve = w3.eth.contract(address=usdc, abi=ERC20_APPROVE_ABI).functions.approve(PERMIT2_ADDRESS, 2**256 - 1).build_transaction(
    {"from": payer.address, "nonce": w3.eth.get_transaction_count(payer.address)})
w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(payer.sign_transaction(approve).raw_transaction))

app = FastAPI()
facilitator = HTTPFacilitatorClient({"url": facilitator_url, "create_headers": lambda: {
    name: {"Authorization": "Bearer " + token} for name in ("verify", "settle", "supported")}})
server = x402ResourceServer(facilitator).register(network, UptoEvmServerScheme())
routes = {"GET /tokens": {"accepts": {"scheme": "upto", "payTo": pay_to, "network": network,
                                      "price": {"amount": "5000", "asset": usdc, "extra": {"name": "USD Coin", "version": "2"}}}}}
app.middleware("http")(payment_middleware(routes, server))


@app.get("/tokens")
def tokens(response: Response):
    set_settlement_overrides(response, {"amount": "1234"})
    return {"tokens": 1234}


base, uvicorn_server = serve(app)
client = x402ClientSync()
client.register(network, UptoEvmClientScheme(payer))
client.set_spend_controls(False)
session = wrapRequestsWithPayment(requests.Session(), client)
unpaid = requests.get(base + "/tokens", timeout=300)
paid = session.get(base + "/tokens", timeout=300)
required = json.loads(base64.b64decode(unpaid.headers.get("PAYMENT-REQUIRED", "e30=")))
settled = json.loads(base64.b64decode(paid.headers.get("PAYMENT-RESPONSE", "e30=")))
print(json.dumps({
    "unpaid_status": unpaid.status_code,
    "offer": (required.get("accepts") or [{}])[0],
    "paid_status": paid.status_code,
    "paid_body": paid.text,
    "overrides_header": paid.headers.get("Settlement-Overrides"),
    "settled": settled,
}))
uvicorn_server.should_exit = True
