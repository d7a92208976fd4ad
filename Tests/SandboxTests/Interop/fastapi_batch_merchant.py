"""A FastAPI merchant that sells calls in x402's prepaid mode (batch-settlement), protected by the
official x402 middleware with `settle serve` as its facilitator, paid by the official client; all
unmodified PyPI packages (x402[fastapi] 2.25).

Usage: fastapi_batch_merchant.py <facilitator_url> <access_token> <usdc> <pay_to> <payer_key> <chain_id> <rpc_url> <calls>

The official batch-settlement server keeps its channels itself and charges each voucher without
calling the facilitator; it calls the facilitator for deposits and, through its channel manager,
for claims, the sweep (`settle`) and refunds. The client pays <calls> calls (one deposit, then
vouchers), the channel manager claims and settles, then the client asks for its rest back.
Prints one JSON object.
"""
import asyncio
import json
import socket
import sys
import threading
import time

import requests
import uvicorn
from eth_account import Account
from fastapi import FastAPI
from x402 import x402ClientSync, x402ResourceServer
from x402.http import HTTPFacilitatorClient
from x402.http.clients import wrapRequestsWithPayment
from x402.http.utils import decode_payment_response_header
from x402.http.middleware.fastapi import payment_middleware
from x402.mechanisms.evm.batch_settlement.client import BatchSettlementEvmScheme as BatchClient
from x402.mechanisms.evm.batch_settlement.server import BatchSettlementEvmScheme as BatchServer
from x402.mechanisms.evm.batch_settlement.server.channel_manager import BatchSettlementChannelManager
from x402.mechanisms.evm.batch_settlement.server.channel_manager_common import ChannelManagerConfig
from x402.mechanisms.evm.signers import EthAccountSignerWithRPC

facilitator_url, token, usdc, pay_to, payer_key, chain_id, rpc_url, calls = sys.argv[1:9]
network = "eip155:" + chain_id

app = FastAPI()


def settle_facilitator():
    # 1. the facilitator is Settle (its URL and the bearer token it gave this server)
    return HTTPFacilitatorClient({"url": facilitator_url, "create_headers": lambda: {
        name: {"Authorization": "Bearer " + token} for name in ("verify", "settle", "supported")}})


facilitator = settle_facilitator()
# 2. the server scheme for the network: no receiver authorizer of its own, Settle's is used
scheme = BatchServer(pay_to)
server = x402ResourceServer(facilitator).register(network, scheme)
# 3. the priced route, paid to the address Settle books for this merchant
routes = {"GET /weather": {"accepts": {"scheme": "batch-settlement", "payTo": pay_to, "network": network,
                                       "price": {"amount": "1000", "asset": usdc, "extra": {"name": "USD Coin", "version": "2"}}}}}
app.middleware("http")(payment_middleware(routes, server))


@app.get("/weather")
def weather():
    return {"weather": "sunny"}


with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
uvicorn_server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
threading.Thread(target=uvicorn_server.run, daemon=True).start()
deadline = time.time() + 300
while not uvicorn_server.started and time.time() < deadline:
    time.sleep(0.05)

base = f"http://127.0.0.1:{port}"
account = Account.from_key(payer_key)
client_scheme = BatchClient(EthAccountSignerWithRPC(account, rpc_url))
client = x402ClientSync()
client.register(network, client_scheme)
client.set_spend_controls(False)
session = wrapRequestsWithPayment(requests.Session(), client)

unpaid = requests.get(base + "/weather", timeout=300)
statuses = {}
failures = []
channel = None
for _ in range(int(calls)):
    paid = session.get(base + "/weather", timeout=300)
    statuses[paid.status_code] = statuses.get(paid.status_code, 0) + 1
    header = paid.headers.get("PAYMENT-RESPONSE")
    if header:
        extra = decode_payment_response_header(header).extra or {}
        channel = (extra.get("channelState") or {}).get("channelId", channel)
    if paid.status_code != 200 and len(failures) < 3:
        failures.append({"status": paid.status_code, "body": paid.text[:300],
                         "required": paid.headers.get("PAYMENT-REQUIRED", "")[:600]})



async def claim_and_settle():
    # The merchant's channel manager claims what the vouchers charged and sweeps it to payTo,
    # through Settle: in an event loop of its own here, so with a facilitator client of its own
    # (an async client belongs to the loop that made it, and uvicorn's runs in another thread).
    manager = BatchSettlementChannelManager(ChannelManagerConfig(
        scheme=scheme, facilitator=settle_facilitator(), receiver=pay_to, token=usdc, network=network))
    return await manager.claim_and_settle()


claimed = {}
try:
    result = asyncio.run(claim_and_settle())
    claimed = {"claims": [c.vouchers for c in result["claims"]],
               "settle": result["settle"].transaction if result["settle"] else None}
except Exception as error:  # noqa: BLE001 — reported, the test fails on it
    claimed = {"error": repr(error)}

refund = None
try:
    refund = client_scheme.refund(base + "/weather")
    refund = refund.model_dump(mode="json", by_alias=True, exclude_none=True) if refund is not None else None
except Exception as error:  # noqa: BLE001
    refund = {"error": repr(error)}

print(json.dumps({
    "unpaid_status": unpaid.status_code,
    "unpaid_offer": unpaid.headers.get("PAYMENT-REQUIRED", "")[:2000],
    "statuses": statuses,
    "channel": channel,
    "failures": failures,
    "claimed": claimed,
    "refund": refund,
}))
uvicorn_server.should_exit = True
