"""pytempo 0.6.2 / pympp 0.16.0 oracle for Settle's Tempo (0x76) transaction codec.

  generate <seed>   pytempo builds and signs transactions (plain, batched, expiring nonce,
                    sponsored with pympp's 0x78 envelope); prints them as JSON.
  check             reads Swift-signed transactions (JSON on stdin), decodes them with rlp,
                    rebuilds them in pytempo and recovers senders with pympp; prints JSON.
"""

import json
import random
import sys

import rlp
from eth_account import Account
from mpp.methods.tempo.fee_payer_envelope import decode_fee_payer_envelope, encode_fee_payer_envelope
from mpp.methods.tempo.intents import _transaction_sender
from pytempo import Call, TempoTransaction
from pytempo.models import AccessListItem, Signature

EXPIRING = (1 << 256) - 1
PATH_USD = "0x20c0000000000000000000000000000000000000"
ALPHA_USD = "0x20c0000000000000000000000000000000000001"


def hx(b):
    return "0x" + bytes(b).hex()


def fields_of(tx):
    return {
        "chainId": str(tx.chain_id),
        "maxPriorityFeePerGas": str(tx.max_priority_fee_per_gas),
        "maxFeePerGas": str(tx.max_fee_per_gas),
        "gasLimit": str(tx.gas_limit),
        "calls": [{"to": hx(c.to), "value": str(c.value), "input": hx(c.data)} for c in tx.calls],
        "accessList": [
            {"address": hx(a.address), "storageKeys": [hx(k) for k in a.storage_keys]} for a in tx.access_list
        ],
        "nonceKey": str(tx.nonce_key),
        "nonce": str(tx.nonce),
        "validBefore": None if tx.valid_before is None else str(tx.valid_before),
        "validAfter": None if tx.valid_after is None else str(tx.valid_after),
        "feeToken": None if tx.fee_token is None else hx(tx.fee_token),
    }


def generate(seed):
    rng = random.Random(seed)
    out = []
    for index in range(24):
        kind = ["plain", "batched", "expiring", "sponsored"][index % 4]
        key = hx(rng.randbytes(31) + b"\x01")
        fee_payer_key = hx(rng.randbytes(31) + b"\x02")
        recipient = hx(rng.randbytes(20))
        amount = rng.randrange(1, 10**12)
        transfer = "0xa9059cbb" + recipient[2:].zfill(64) + hex(amount)[2:].zfill(64)
        memo = rng.randbytes(32).hex()
        with_memo = "0x95777d59" + recipient[2:].zfill(64) + hex(amount)[2:].zfill(64) + memo
        now = 1_800_000_000 + rng.randrange(0, 10_000)
        common = dict(
            chain_id=rng.choice([42431, 4217, 31337]),
            gas_limit=rng.randrange(100_000, 2_000_000),
            max_fee_per_gas=rng.randrange(10**9, 10**11),
            max_priority_fee_per_gas=rng.randrange(0, 10**9),
        )
        if kind == "plain":
            tx = TempoTransaction.create(**common, nonce=rng.randrange(0, 1000), fee_token=PATH_USD,
                                         calls=(Call.create(to=PATH_USD, data=transfer),))
        elif kind == "batched":
            calls = tuple(Call.create(to=rng.choice([PATH_USD, ALPHA_USD]), value=rng.choice([0, 0, 5]),
                                      data=rng.choice([transfer, with_memo, "0x"])) for _ in range(rng.randrange(2, 5)))
            tx = TempoTransaction.create(**common, nonce_key=rng.randrange(1, 2**64), nonce=rng.randrange(0, 50),
                                         valid_after=now - 100, valid_before=now + 100,
                                         fee_token=rng.choice([None, ALPHA_USD]), calls=calls,
                                         access_list=(AccessListItem.create(address=PATH_USD,
                                                                            storage_keys=(rng.randbytes(32),)),)
                                         if index % 8 == 1 else ())
        elif kind == "expiring":
            tx = TempoTransaction.create(**common, nonce_key=EXPIRING, nonce=0, valid_before=now + 60,
                                         fee_token=PATH_USD, calls=(Call.create(to=PATH_USD, data=with_memo),))
        else:
            tx = TempoTransaction.create(**common, nonce_key=EXPIRING, nonce=0, valid_before=now + 60,
                                         awaiting_fee_payer=True, calls=(Call.create(to=PATH_USD, data=with_memo),))
        signed = tx.sign(key)
        item = {"kind": kind, "key": key, "fields": fields_of(tx), "sender": Account.from_key(key).address,
                "senderHash": hx(tx.get_signing_hash())}
        if kind == "sponsored":
            item["envelope"] = hx(encode_fee_payer_envelope(signed))
            fee_token = rng.choice([PATH_USD, ALPHA_USD])
            cosigned = TempoTransaction(**{**{a: getattr(signed, a) for a in (
                "chain_id", "max_priority_fee_per_gas", "max_fee_per_gas", "gas_limit", "calls", "access_list",
                "nonce_key", "nonce", "valid_before", "valid_after", "sender_address", "awaiting_fee_payer",
                "sender_signature", "tempo_authorization_list")}, "fee_token": fee_token}).sign(fee_payer_key, for_fee_payer=True)
            item["feePayerKey"] = fee_payer_key
            item["feePayer"] = Account.from_key(fee_payer_key).address
            item["feeToken"] = fee_token
            item["feePayerHash"] = hx(cosigned.get_signing_hash(for_fee_payer=True))
            signed = cosigned
        item["raw"] = hx(signed.encode())
        item["hash"] = hx(signed.hash())
        out.append(item)
    print(json.dumps(out))


def as_int(b):
    return int.from_bytes(b, "big") if b else 0


def rebuild(raw_hex):
    """Decodes a 0x76 transaction with rlp and rebuilds it as a pytempo TempoTransaction."""
    data = bytes.fromhex(raw_hex[2:])
    assert data[0] == 0x76, "type byte"
    f = rlp.decode(data[1:])
    assert len(f) == 14, f"field count {len(f)}"
    fee_payer_sig = None
    if isinstance(f[11], list):
        v, r, s = (as_int(x) for x in f[11])
        fee_payer_sig = Signature(r=r, s=s, v=v)
    sig = f[13]
    sender = _transaction_sender(raw_hex)
    tx = TempoTransaction(
        chain_id=as_int(f[0]), max_priority_fee_per_gas=as_int(f[1]), max_fee_per_gas=as_int(f[2]),
        gas_limit=as_int(f[3]), calls=tuple(Call.create(to=c[0], value=as_int(c[1]), data=c[2]) for c in f[4]),
        access_list=tuple(AccessListItem.create(address=a[0], storage_keys=tuple(a[1])) for a in f[5]),
        nonce_key=as_int(f[6]), nonce=as_int(f[7]), valid_before=as_int(f[8]) if f[8] else None,
        valid_after=as_int(f[9]) if f[9] else None, fee_token=f[10] if f[10] else None,
        sender_signature=Signature(r=as_int(sig[:32]), s=as_int(sig[32:64]), v=sig[64]),
        fee_payer_signature=fee_payer_sig,
        sender_address=sender,
    )
    return tx


def check():
    request = json.load(sys.stdin)
    out = []
    for item in request:
        tx = rebuild(item["raw"])
        result = {
            "reencoded": hx(tx.encode()),
            "hash": hx(tx.hash()),
            "sender": _transaction_sender(item["raw"]),
            "fields": fields_of(tx),
        }
        if tx.fee_payer_signature is not None:
            sender_tx = TempoTransaction(**{**{a: getattr(tx, a) for a in (
                "chain_id", "max_priority_fee_per_gas", "max_fee_per_gas", "gas_limit", "calls", "access_list",
                "nonce_key", "nonce", "valid_before", "valid_after", "fee_token", "fee_payer_signature")},
                "sender_address": result["sender"]})
            sig = tx.fee_payer_signature
            result["feePayer"] = Account._recover_hash(sender_tx.get_signing_hash(for_fee_payer=True),
                                                       vrs=(sig.v, sig.r, sig.s)).lower()
        if item.get("envelope"):
            decoded, sender_bytes, _, _ = decode_fee_payer_envelope(bytes.fromhex(item["envelope"][2:]))
            result["envelopeSender"] = _transaction_sender(item["envelope"])
            result["envelopeNamedSender"] = hx(sender_bytes)
        out.append(result)
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(int(sys.argv[2]))
    else:
        check()
