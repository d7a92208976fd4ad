"""A FastAPI merchant protected by the official x402 middleware, with `settle serve` as its
facilitator, paid by the official x402 client; all unmodified PyPI packages (x402[fastapi]).

Usage: fastapi_merchant.py <facilitator_url> <access_token> <usdc> <pay_to> <payer_key> <chain_id>

The three lines a merchant changes are marked below. Prints one JSON object.
"""
import json
import sys

import requests
from eth_account import Account
from fastapi import FastAPI
from x402 import x402ClientSync, x402ResourceServer
from x402.http import HTTPFacilitatorClient
from x402.http.clients import wrapRequestsWithPayment
from x402.http.middleware.fastapi import payment_middleware
from x402.mechanisms.evm.exact import ExactEvmServerScheme, register_exact_evm_client
from local_app import serve

facilitator_url, token, usdc, pay_to, payer_key, chain_id = sys.argv[1:7]
network = "eip155:" + chain_id

app = FastAPI()
# 1. the facilitator is Settle (its URL and the bearer token it gave this server)
facilitator = HTTPFacilitatorClient({"url": facilitator_url, "create_headers": lambda: {
    name: {"Authorization": "Bearer " + token} for name in ("verify", "settle", "supported")}})
# 2. the server scheme for the network
server = x402ResourceServer(facilitator).register(network, ExactEvmServerScheme())
# 3. the priced route, paid to the address Settle books for this merchant
routes = {"GET /weather": {"accepts": {"scheme": "exact", "payTo": pay_to, "network": network,
                                       "price": {"amount": "1000", "asset": usdc, "extra": {"name": "USD Coin", "version": "2"}}}}}
app.middleware("http")(payment_middleware(routes, server))


@app.get("/weather")
def weather():
    return {"weather": "sunny"}


base, uvicorn_server = serve(app)
client = x402ClientSync()
register_exact_evm_client(client, Account.from_key(payer_key), networks=network)
client.set_spend_controls(False)
session = wrapRequestsWithPayment(requests.Session(), client)
unpaid = requests.get(base + "/weather", timeout=300)
paid = session.get(base + "/weather", timeout=300)
# Settle refuses callers without the token: the facilitator is not open to anyone.
anonymous = requests.get(facilitator_url + "/supported", timeout=300)
print(json.dumps({
    "unpaid_status": unpaid.status_code,
    "paid_status": paid.status_code,
    "paid_body": paid.text,
    "payment_response": paid.headers.get("PAYMENT-RESPONSE", ""),
    "anonymous_supported_status": anonymous.status_code,
}))
uvicorn_server.should_exit = True
