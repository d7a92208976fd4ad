"""x402's official upto client and facilitator (x402 2.25, unmodified) against the dev chain's Permit2
and x402UptoPermit2Proxy.

    python x402_upto_devchain.py RPC_URL TOKEN PAYER_KEY FACILITATOR_KEY PAY_TO MAXIMUM CHARGED

The payer has approved Permit2 beforehand. The client (UptoEvmScheme, eth-account signer) signs a
Permit2 witness transfer of at most MAXIMUM for the facilitator; the facilitator
(UptoEvmFacilitatorScheme over web3.py) verifies it (signature, allowance, balance, an eth_call of
the proxy's settle), refuses a settlement above the maximum, settles CHARGED, and verifies it again
(the nonce is spent: the simulation fails). Prints one JSON object with the signed payload, so the
caller can check its own Permit2 digest against eth-account's signature.
"""

import json
import sys

from eth_account import Account
from x402 import x402ClientSync, x402FacilitatorSync
from x402.mechanisms.evm import FacilitatorWeb3Signer
from x402.mechanisms.evm.upto import UptoEvmClientScheme, UptoEvmFacilitatorScheme
from x402.schemas.payments import PaymentRequired, PaymentRequirements

NETWORK = "eip155:31337"


def dump(response):
    return response.model_dump(mode="json", by_alias=True, exclude_none=True)


def main():
    url, token, payer_key, facilitator_key, pay_to, maximum, charged = sys.argv[1:8]

    signer = FacilitatorWeb3Signer(private_key=facilitator_key, rpc_url=url, confirmation_timeout_seconds=20)
    facilitator = x402FacilitatorSync()
    facilitator.register([NETWORK], UptoEvmFacilitatorScheme(signer))
    supported = facilitator.get_supported()
    facilitator_address = supported.kinds[0].extra["facilitatorAddress"]

    client = x402ClientSync()
    client.register(NETWORK, UptoEvmClientScheme(Account.from_key(payer_key)))
    client.set_spend_controls(False)

    requirements = PaymentRequirements(
        scheme="upto",
        network=NETWORK,
        asset=token,
        amount=maximum,
        pay_to=pay_to,
        max_timeout_seconds=120,
        extra={"assetTransferMethod": "permit2", "name": "USD Coin", "version": "2", "facilitatorAddress": facilitator_address},
    )
    payload = client.create_payment_payload(PaymentRequired(accepts=[requirements]))
    verified = facilitator.verify(payload, requirements)
    above = facilitator.settle(payload, requirements.model_copy(update={"amount": str(int(maximum) + 1)}))
    settled = facilitator.settle(payload, requirements.model_copy(update={"amount": charged}))
    replay = facilitator.verify(payload, requirements)

    print(
        json.dumps(
            {
                "supported": dump(supported),
                "payload": payload.payload,
                "verify": dump(verified),
                "above": dump(above),
                "settle": dump(settled),
                "replay": dump(replay),
            }
        )
    )


if __name__ == "__main__":
    main()
