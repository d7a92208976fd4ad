"""Pays a Settle-protected route with the official x402 Python client (PyPI x402 2.25).

Usage: x402_client_pays.py URL PRIVATE_KEY NETWORK ASSET MAX_AMOUNT
Prints one JSON object: the unpaid answer (status, decoded PAYMENT-REQUIRED) and the paid one
(status, body, decoded PAYMENT-RESPONSE).
"""

import json
import sys

import requests
from eth_account import Account
from x402 import x402ClientSync
from x402.http.clients import wrapRequestsWithPayment
from x402.http.utils import decode_payment_required_header, decode_payment_response_header
from x402.mechanisms.evm.exact import register_exact_evm_client


def main() -> None:
    url, key, network, asset, max_amount = sys.argv[1:6]

    unpaid = requests.get(url, timeout=300)
    required = unpaid.headers.get("PAYMENT-REQUIRED")
    required_json = decode_payment_required_header(required).model_dump(by_alias=True, exclude_none=True) if required else None

    account = Account.from_key(key)
    client = x402ClientSync()
    register_exact_evm_client(client, account, networks=network)
    # Spend controls only know the built-in assets by default: list the dev chain's token, or
    # every offer is rejected with NoMatchingRequirementsError.
    client.set_spend_controls(
        {"allowed_assets": [{"network": network, "asset": asset, "max_amount_per_payment": max_amount}]}
    )
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
                "cacheControl": paid.headers.get("Cache-Control"),
                "settleResponse": settle,
            }
        )
    )


if __name__ == "__main__":
    main()
