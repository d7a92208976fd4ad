"""x402's official batch-settlement client and facilitator (x402 2.25, unmodified) deposit through the
dev chain's Permit2 deposit collector.

    python x402_batch_permit2_deposit_devchain.py RPC_URL TOKEN PAYER_KEY FACILITATOR_KEY AUTHORIZER_KEY RECEIVER

The payer has approved Permit2 beforehand. The route asks for `assetTransferMethod: permit2`: the
client (BatchSettlementEvmScheme) signs a Permit2 witness transfer bound to its channel id for the
collector, and a voucher; the facilitator verifies it (typed data, allowance, an eth_call of the
deposit) and settles it (`deposit` through the collector), then verifies a second call's voucher
against the channel on chain. Prints one JSON object.
"""

import json
import sys

from eth_account import Account
from x402 import x402ClientSync, x402FacilitatorSync
from x402.mechanisms.evm import FacilitatorWeb3Signer
from x402.mechanisms.evm.batch_settlement.authorizer_signer import LocalAuthorizerSigner
from x402.mechanisms.evm.batch_settlement.client import BatchSettlementEvmScheme
from x402.mechanisms.evm.batch_settlement.facilitator import BatchSettlementEvmFacilitator
from x402.schemas import PaymentRequired, PaymentRequirements
from x402.schemas.hooks import PaymentResponseContext

NETWORK = "eip155:31337"
PRICE = 1000
DEPOSIT = 50 * PRICE


def dump(response):
    return response.model_dump(mode="json", by_alias=True, exclude_none=True)


def main():
    url, token, payer_key, facilitator_key, authorizer_key, receiver = sys.argv[1:7]

    signer = FacilitatorWeb3Signer(private_key=facilitator_key, rpc_url=url, confirmation_timeout_seconds=20)
    authorizer = LocalAuthorizerSigner(authorizer_key)
    facilitator = x402FacilitatorSync()
    facilitator.register([NETWORK], BatchSettlementEvmFacilitator(signer, authorizer))

    scheme = BatchSettlementEvmScheme(Account.from_key(payer_key))
    client = x402ClientSync()
    client.register(NETWORK, scheme)
    client.set_spend_controls(False)

    requirements = PaymentRequirements(
        scheme="batch-settlement",
        network=NETWORK,
        asset=token,
        amount=str(PRICE),
        pay_to=receiver,
        max_timeout_seconds=120,
        extra={
            "receiverAuthorizer": authorizer.address,
            "withdrawDelay": 900,
            "name": "USD Coin",
            "version": "2",
            "assetTransferMethod": "permit2",
            "minDeposit": str(DEPOSIT),
        },
    )

    deposit = client.create_payment_payload(PaymentRequired(accepts=[requirements]))
    verified = facilitator.verify(deposit, requirements)
    settled = facilitator.settle(deposit, requirements)
    settled.extra = dict(settled.extra or {}, chargedAmount=str(PRICE))
    scheme.scheme_hooks.on_payment_response(
        PaymentResponseContext(payment_payload=deposit, requirements=requirements, settle_response=settled)
    )
    voucher = client.create_payment_payload(PaymentRequired(accepts=[requirements]))
    print(
        json.dumps(
            {
                "deposit": deposit.payload,
                "verify": dump(verified),
                "settle": dump(settled),
                "voucherType": voucher.payload.get("type"),
                "voucherVerify": dump(facilitator.verify(voucher, requirements)),
            }
        )
    )


if __name__ == "__main__":
    main()
