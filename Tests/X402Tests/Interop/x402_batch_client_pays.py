"""Pays a Settle route with x402's official batch-settlement client (PyPI x402 2.25, unmodified).

Usage: x402_batch_client_pays.py URL PAYER_KEY RPC_URL CALLS

The client (BatchSettlementEvmScheme over an eth-account signer) pays CALLS requests: the first
with an ERC-3009 deposit through the deposit collector, the others with cumulative vouchers. Then
a second client of the same payer, without the first one's local state, pays once more: it must
resync from the server's corrective 402. Then the first client asks for a cooperative refund of
what is left. Prints one JSON object.
"""

import json
import sys
import time

import requests
from eth_account import Account
from x402 import x402ClientSync
from x402.http.clients import wrapRequestsWithPayment
from x402.http.utils import decode_payment_required_header, decode_payment_response_header
from x402.mechanisms.evm.batch_settlement.client import BatchSettlementEvmScheme
from x402.mechanisms.evm.signers import EthAccountSignerWithRPC


def dump(model):
    return model.model_dump(mode="json", by_alias=True, exclude_none=True) if model is not None else None


def session_for(scheme, network):
    client = x402ClientSync()
    client.register(network, scheme)
    # The dev chain's token is not one of the SDK's default assets.
    client.set_spend_controls(False)
    return wrapRequestsWithPayment(requests.Session(), client)


def main():
    url, key, rpc_url, calls = sys.argv[1:5]
    calls = int(calls)
    account = Account.from_key(key)

    unpaid = requests.get(url, timeout=300)
    required = decode_payment_required_header(unpaid.headers["PAYMENT-REQUIRED"])
    network = required.accepts[0].network

    scheme = BatchSettlementEvmScheme(EthAccountSignerWithRPC(account, rpc_url))
    session = session_for(scheme, network)
    statuses = {}
    responses = []
    failures = []
    started = time.monotonic()
    for _ in range(calls):
        paid = session.get(url, timeout=300)
        statuses[paid.status_code] = statuses.get(paid.status_code, 0) + 1
        header = paid.headers.get("PAYMENT-RESPONSE")
        settle = dump(decode_payment_response_header(header)) if header else None
        if paid.status_code != 200 or settle is None:
            failures.append({"status": paid.status_code, "body": paid.text[:300], "settle": settle,
                             "required": dump(decode_payment_required_header(paid.headers["PAYMENT-REQUIRED"]))
                             if paid.headers.get("PAYMENT-REQUIRED") else None})
            if len(failures) >= 3:
                break
        elif len(responses) < 2:
            responses.append(settle)
        last = settle
    elapsed = time.monotonic() - started

    # A second client of the same payer without the first one's state resyncs from the server.
    fresh = session_for(BatchSettlementEvmScheme(EthAccountSignerWithRPC(account, rpc_url)), network)
    resynced = fresh.get(url, timeout=300)
    resynced_header = resynced.headers.get("PAYMENT-RESPONSE")

    refund = scheme.refund(url)

    print(json.dumps({
        "payer": account.address,
        "unpaidStatus": unpaid.status_code,
        "offer": dump(required.accepts[0]),
        "statuses": statuses,
        "failures": failures,
        "first": responses,
        "last": last,
        "elapsedSeconds": elapsed,
        "resyncedStatus": resynced.status_code,
        "resynced": dump(decode_payment_response_header(resynced_header)) if resynced_header else None,
        "refund": dump(refund),
    }))


if __name__ == "__main__":
    main()
