"""Pays a Settle route priced with x402's upto scheme with the official Python client (PyPI x402 2.25).

Usage: x402_upto_client_pays.py URL PRIVATE_KEY NETWORK
The payer has approved Permit2 beforehand. The client signs a Permit2 witness transfer of at most
the route's amount for the facilitator the offer names; the server charges what its handler used.
Prints one JSON object: the unpaid answer (status, decoded PAYMENT-REQUIRED), the paid one
(status, body, headers, decoded PAYMENT-RESPONSE) and the signed payload's maximum and nonce.
"""

import json
import sys

import requests
from eth_account import Account
from x402 import x402ClientSync
from x402.http.clients import wrapRequestsWithPayment
from x402.http.utils import decode_payment_required_header, decode_payment_response_header
from x402.mechanisms.evm.upto import UptoEvmClientScheme


def main() -> None:
    url, key, network = sys.argv[1:4]

    unpaid = requests.get(url, timeout=300)
    required = unpaid.headers.get("PAYMENT-REQUIRED")
    required_json = decode_payment_required_header(required).model_dump(by_alias=True, exclude_none=True) if required else None

    account = Account.from_key(key)
    client = x402ClientSync()
    client.register(network, UptoEvmClientScheme(account))
    # The dev chain's token is not one of the SDK's built-in assets.
    client.set_spend_controls(False)
    signed = []
    client.on_after_payment_creation(lambda context: signed.append(context.payment_payload.payload))
    session = wrapRequestsWithPayment(requests.Session(), client)
    paid = session.get(url, timeout=300)
    response_header = paid.headers.get("PAYMENT-RESPONSE")
    settle = decode_payment_response_header(response_header).model_dump(by_alias=True, exclude_none=True) if response_header else None

    print(
        json.dumps(
            {
                "payer": account.address,
                "unpaidStatus": unpaid.status_code,
                "paymentRequired": required_json,
                "paidStatus": paid.status_code,
                "paidBody": paid.text,
                "paidHeaders": sorted(name.lower() for name in paid.headers.keys()),
                "settleResponse": settle,
                "signed": signed,
            }
        )
    )


if __name__ == "__main__":
    main()
