"""The x402 Python SDK's own client and facilitator against the dev chain.

    python x402_facilitator_devchain.py RPC_URL TOKEN PAYER_KEY FACILITATOR_KEY PAY_TO AMOUNT

The client (x402ClientSync + the exact EVM scheme, eth-account signer) signs an EIP-3009 payment
for chain 31337; the facilitator (x402FacilitatorSync + FacilitatorWeb3Signer, i.e. web3.py over
HTTP) verifies it (contract code, signature, eth_call simulation), settles it (a transaction,
waiting for the receipt and checking the Transfer log) and verifies it again (the nonce is now
used). Also verifies a payment signed with the wrong EIP-712 name. Prints one JSON object.
"""

import json
import sys

from eth_account import Account
from x402 import x402ClientSync, x402FacilitatorSync
from x402.mechanisms.evm import FacilitatorWeb3Signer
from x402.mechanisms.evm.exact import register_exact_evm_client, register_exact_evm_facilitator
from x402.schemas.payments import PaymentRequired, PaymentRequirements


def response_dict(response):
    return response.model_dump(mode="json", by_alias=True, exclude_none=True)


def main():
    url, token, payer_key, facilitator_key, pay_to, amount = sys.argv[1:7]
    network = "eip155:31337"

    client = x402ClientSync()
    register_exact_evm_client(client, Account.from_key(payer_key), networks=network)
    client.set_spend_controls(False)

    facilitator = x402FacilitatorSync()
    signer = FacilitatorWeb3Signer(private_key=facilitator_key, rpc_url=url, confirmation_timeout_seconds=20)
    register_exact_evm_facilitator(facilitator, signer, networks=[network])

    def requirements(name):
        return PaymentRequirements(
            scheme="exact",
            network=network,
            asset=token,
            amount=amount,
            pay_to=pay_to,
            max_timeout_seconds=120,
            extra={"name": name, "version": "2"},
        )

    good = requirements("USD Coin")
    payload = client.create_payment_payload(PaymentRequired(accepts=[good]))
    verified = facilitator.verify(payload, good)
    settled = facilitator.settle(payload, good)
    replay = facilitator.verify(payload, good)

    # Signed in a domain named "USDC": the token's name is "USD Coin", so the signature is wrong.
    wrong = requirements("USDC")
    wrong_payload = client.create_payment_payload(PaymentRequired(accepts=[wrong]))
    wrong_verified = facilitator.verify(wrong_payload, wrong)

    print(
        json.dumps(
            {
                "payer": Account.from_key(payer_key).address,
                "nonce": payload.payload["authorization"]["nonce"],
                "verify": response_dict(verified),
                "settle": response_dict(settled),
                "replay": response_dict(replay),
                "wrongName": response_dict(wrong_verified),
            }
        )
    )


if __name__ == "__main__":
    main()
