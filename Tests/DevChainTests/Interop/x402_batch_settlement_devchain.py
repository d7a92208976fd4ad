"""x402's official batch-settlement client and facilitator (x402 2.25, unmodified) against the dev chain.

    python x402_batch_settlement_devchain.py RPC_URL TOKEN PAYER_KEY FACILITATOR_KEY AUTHORIZER_KEY RECEIVER CALLS

The client (BatchSettlementEvmScheme, eth-account signer) pays CALLS requests of 1000 units: the
first with an ERC-3009 deposit through the deposit collector, the others with cumulative vouchers.
The facilitator (BatchSettlementEvmFacilitator over web3.py, with a receiver authorizer) verifies
and settles the deposit, verifies each voucher against the chain (Multicall3 reads), claims the
vouchers of the first half with `claimWithSignature`, sweeps them with `settle`, then refunds the
rest with `refundWithSignature` batched with the claim of the second half in one `multicall`, and
sweeps again. This script plays the resource server's part between the two (what it charges, which
claims it builds), as x402's own server scheme does. Prints one JSON object.
"""

import json
import sys

from eth_account import Account
from x402 import x402ClientSync, x402FacilitatorSync
from x402.mechanisms.evm import FacilitatorWeb3Signer
from x402.mechanisms.evm.batch_settlement import (
    ChannelConfig,
    ClaimPayload,
    EnrichedRefundPayload,
    SettlePayload,
    VoucherClaim,
    VoucherFields,
)
from x402.mechanisms.evm.batch_settlement.authorizer_signer import LocalAuthorizerSigner
from x402.mechanisms.evm.batch_settlement.client import BatchSettlementEvmScheme, sign_voucher
from x402.mechanisms.evm.batch_settlement.facilitator import BatchSettlementEvmFacilitator
from x402.mechanisms.evm.signers import EthAccountSigner
from x402.schemas import PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse
from x402.schemas.hooks import PaymentResponseContext

NETWORK = "eip155:31337"
PRICE = 1000


def dump(response):
    return response.model_dump(mode="json", by_alias=True, exclude_none=True)


def main():
    url, token, payer_key, facilitator_key, authorizer_key, receiver, calls = sys.argv[1:8]
    calls = int(calls)

    signer = FacilitatorWeb3Signer(private_key=facilitator_key, rpc_url=url, confirmation_timeout_seconds=20)
    authorizer = LocalAuthorizerSigner(authorizer_key)
    facilitator = x402FacilitatorSync()
    facilitator.register([NETWORK], BatchSettlementEvmFacilitator(signer, authorizer))
    supported = facilitator.get_supported()

    scheme = BatchSettlementEvmScheme(Account.from_key(payer_key))
    client = x402ClientSync()
    client.register(NETWORK, scheme)
    # The dev chain's USDC is not one of the SDK's default assets.
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
            "minDeposit": str(10 * calls * PRICE),
        },
    )

    def server_action(payload_dict):
        return PaymentPayload(payload=payload_dict, accepted=requirements)

    results = {"supported": dump(supported), "verify": [], "deposit": None}
    vouchers = []
    for _ in range(calls):
        payload = client.create_payment_payload(PaymentRequired(accepts=[requirements]))
        verified = facilitator.verify(payload, requirements)
        if not verified.is_valid:
            results["verify"].append(dump(verified))
            break
        results["verify"].append({"isValid": True, "type": payload.payload["type"]})
        if payload.payload["type"] == "deposit":
            settled = facilitator.settle(payload, requirements)
            results["deposit"] = dump(settled)
            if not settled.success:
                break
        else:
            settled = SettleResponse(success=True, transaction="", network=NETWORK, amount="")
        # The server charges the full price and tells the client (the PAYMENT-RESPONSE's extra).
        settled.extra = dict(settled.extra or {}, chargedAmount=str(PRICE))
        scheme.scheme_hooks.on_payment_response(
            PaymentResponseContext(payment_payload=payload, requirements=requirements, settle_response=settled)
        )
        vouchers.append(payload.payload)

    config = ChannelConfig.from_dict(vouchers[-1]["channelConfig"])

    def claim_of(voucher_payload):
        voucher = voucher_payload["voucher"]
        return VoucherClaim(
            channel=config,
            max_claimable_amount=voucher["maxClaimableAmount"],
            signature=voucher["signature"],
            total_claimed=voucher["maxClaimableAmount"],
        )

    half = vouchers[len(vouchers) // 2 - 1]
    results["claim"] = dump(facilitator.settle(server_action(ClaimPayload(claims=[claim_of(half)]).to_dict()), requirements))
    sweep = SettlePayload(receiver=receiver, token=token).to_dict()
    results["settle"] = dump(facilitator.settle(server_action(sweep), requirements))

    last = vouchers[-1]
    cumulative = last["voucher"]["maxClaimableAmount"]
    channel_id = last["voucher"]["channelId"]
    zero_charge = sign_voucher(EthAccountSigner(Account.from_key(payer_key)), channel_id, cumulative, NETWORK)
    refund = EnrichedRefundPayload(
        channel_config=config,
        voucher=VoucherFields(
            channel_id=zero_charge.channel_id,
            max_claimable_amount=zero_charge.max_claimable_amount,
            signature=zero_charge.signature,
        ),
        amount=str(10 * calls * PRICE),
        refund_nonce="0",
        claims=[claim_of(last)],
    )
    refund_payload = server_action(refund.to_dict())
    results["refundVerify"] = dump(facilitator.verify(refund_payload, requirements))
    results["refund"] = dump(facilitator.settle(refund_payload, requirements))
    results["settleAgain"] = dump(facilitator.settle(server_action(sweep), requirements))
    # A stale refund nonce is refused by the contract's simulation.
    results["staleRefund"] = dump(facilitator.settle(server_action(refund.to_dict()), requirements))
    results["channelId"] = channel_id
    results["cumulative"] = cumulative
    print(json.dumps(results))


if __name__ == "__main__":
    main()
