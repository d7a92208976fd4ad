"""pympp 0.16.0 pays pympp 0.16.0 over HTTP, with a Settle Tempo dev chain as the only RPC.

Usage: pympp_tempo_charge.py <rpc_url> <payer_key> <fee_payer_key> <recipient>

Both sides are the unmodified PyPI package: the client (mpp.client.Mpp with tempo.client.charge)
signs a 0x76 transaction (a 0x78 fee payer envelope when the route sponsors fees); the server
(mpp.server.Mpp with tempo.server.charge) verifies it, co-signs as fee payer where asked,
simulates (tempo_simulateV1), broadcasts with eth_sendRawTransactionSync and checks the receipt's
TransferWithMemo log. Prints one JSON object with what happened on each route.
"""

import asyncio
import base64
import json
import sys

import httpx
from mpp.client import Mpp as ClientMpp
from mpp.methods.tempo import TempoAccount
from mpp.methods.tempo import client as tempo_client
from mpp.methods.tempo import server as tempo_server
from mpp.server import Mpp as ServerMpp
from mpp.server import Request, Response

CHAIN_ID = 42431
PATH_USD = "0x20c0000000000000000000000000000000000000"


async def main():
    rpc_url, payer_key, fee_payer_key, recipient = sys.argv[1:5]
    server = ServerMpp(
        methods=tempo_server.charge(recipient=recipient, chain_id=CHAIN_ID, rpc_url=rpc_url, currencies=[PATH_USD],
                                    fee_payer=TempoAccount.from_key(fee_payer_key)),
        realm="127.0.0.1",
        secret_key="settle-tempo-interop-secret-of-at-least-32-bytes",
    )
    routes = {
        "/paid": server.charge(amount="0.25"),
        "/sponsored": server.charge(amount="0.5", fee_payer=True),
    }

    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = [tuple(line.split(": ", 1)) for line in lines[1:] if line]
            length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
            body = await reader.readexactly(length) if length else None
            handler = routes.get(target)
            if handler is None:
                response = Response.json({"error": "not found"}, status=404)
            else:
                result = await handler(Request(method, f"http://127.0.0.1{target}", headers, body, route=target))
                if result.status != 200:
                    response = result.challenge
                else:
                    response = result.with_receipt(Response.json({"paid": target}))
            payload = response.body or b""
            out = [f"HTTP/1.1 {response.status} X"]
            for name, value in response.headers.multi_items():
                if name.lower() not in ("content-length", "connection"):
                    out.append(f"{name}: {value}")
            out += [f"Content-Length: {len(payload)}", "Connection: close", "", ""]
            writer.write("\r\n".join(out).encode("latin-1") + payload)
            await writer.drain()
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    result = {}
    async with listener:
        async with ClientMpp(methods=[tempo_client.charge(account=TempoAccount.from_key(payer_key), chain_id=CHAIN_ID,
                                                          rpc_url=rpc_url)]) as client:
            credentials = []
            client.payment_transport.on_credential_created(lambda event: credentials.append(event["credential"]))
            for route in ("/paid", "/sponsored"):
                credentials.clear()
                response = await client.fetch(base + route)
                entry = {"status": response.status_code, "body": response.text}
                receipt_header = response.headers.get("payment-receipt")
                if receipt_header:
                    entry["receipt"] = json.loads(base64.urlsafe_b64decode(receipt_header + "=" * (-len(receipt_header) % 4)))
                if credentials:
                    credential = credentials[-1]
                    # The same credential again must be refused: its transaction hash is spent.
                    async with httpx.AsyncClient() as plain:
                        replay = await plain.get(base + route, headers={"Authorization": credential.to_authorization()})
                    entry["replayStatus"] = replay.status_code
                    entry["signedType"] = credential.payload["signature"][:4]
                    entry["source"] = credential.source
                result[route] = entry
    print(json.dumps(result))


asyncio.run(main())
