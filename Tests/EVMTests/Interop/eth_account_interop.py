"""Interop oracle for the EVM module's tests: eth-account signs and recovers what Swift does.

    python eth_account_interop.py generate COUNT SEED   -> JSON on stdout (authorizations, transactions)
    python eth_account_interop.py recover               -> reads JSON on stdin, writes JSON on stdout

Everything is deterministic for a given seed, so a failing case can be replayed.
"""

import json
import random
import sys

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
AUTH_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
TYPES = {
    "TransferWithAuthorization": AUTH_FIELDS,
    "ReceiveWithAuthorization": AUTH_FIELDS,
    "CancelAuthorization": [{"name": "authorizer", "type": "address"}, {"name": "nonce", "type": "bytes32"}],
}


def typed_data(domain, primary_type, message):
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, primary_type: TYPES[primary_type]},
        "primaryType": primary_type,
        "domain": domain,
        "message": message,
    }


def random_address(rng):
    return Account.from_key(rng.randbytes(32)).address


def generate(count, seed):
    rng = random.Random(seed)
    authorizations = []
    for index in range(count):
        key = "0x" + rng.randbytes(32).hex()
        account = Account.from_key(key)
        primary_type = ["TransferWithAuthorization", "ReceiveWithAuthorization", "CancelAuthorization"][index % 3]
        domain = {
            "name": rng.choice(["USD Coin", "USDC", "Euro Coin", "Tést ☃"]),
            "version": rng.choice(["1", "2"]),
            "chainId": rng.choice([1, 8453, 84532, 31337, 2**64 + 5]),
            "verifyingContract": random_address(rng),
        }
        nonce = "0x" + rng.randbytes(32).hex()
        if primary_type == "CancelAuthorization":
            message = {"authorizer": account.address, "nonce": nonce}
        else:
            message = {
                "from": account.address,
                "to": random_address(rng),
                "value": rng.choice([0, 1, 10000, rng.getrandbits(128), 2**256 - 1]),
                "validAfter": rng.choice([0, 1740672089]),
                "validBefore": rng.choice([1800000000, 2**256 - 1]),
                "nonce": nonce,
            }
        signable = encode_typed_data(full_message=typed_data(domain, primary_type, message))
        signed = Account.sign_message(signable, key)
        digest = b"\x19" + signable.version + signable.header + signable.body
        authorizations.append({
            "key": key,
            "primaryType": primary_type,
            "domain": {**domain, "chainId": str(domain["chainId"])},
            "message": {k: str(v) if isinstance(v, int) else v for k, v in message.items()},
            "digest": "0x" + keccak(digest).hex(),
            "signature": "0x" + signed.signature.hex(),
            "signer": account.address,
        })
    transactions = []
    for index in range(count):
        key = "0x" + rng.randbytes(32).hex()
        tx = {
            "type": 2,
            "chainId": rng.choice([1, 8453, 84532, 31337]),
            "nonce": rng.choice([0, 1, rng.getrandbits(32)]),
            "maxPriorityFeePerGas": rng.choice([0, 1_000_000_000, rng.getrandbits(64)]),
            "maxFeePerGas": rng.choice([1, 30_000_000_000, rng.getrandbits(96)]),
            "gas": rng.choice([21000, 100000, rng.getrandbits(24)]),
            "to": random_address(rng),
            "value": rng.choice([0, 10**18, rng.getrandbits(200)]),
            "data": "0x" + rng.randbytes(rng.choice([0, 4, 68, 100])).hex(),
            "accessList": [
                {"address": random_address(rng), "storageKeys": ["0x" + rng.randbytes(32).hex() for _ in range(rng.randint(0, 2))]}
                for _ in range(rng.choice([0, 0, 1, 2]))
            ],
        }
        signed = Account.sign_transaction(tx, key)
        transactions.append({
            "key": key,
            "fields": {k: (str(v) if isinstance(v, int) else v) for k, v in tx.items()},
            "raw": "0x" + signed.raw_transaction.hex(),
            "hash": "0x" + signed.hash.hex(),
            "sender": Account.from_key(key).address,
        })
    return {"authorizations": authorizations, "transactions": transactions}


def recover(request):
    typed = []
    for item in request["typed"]:
        domain = {**item["domain"], "chainId": int(item["domain"]["chainId"])}
        message = {
            k: int(v) if k in ("value", "validAfter", "validBefore") else v for k, v in item["message"].items()
        }
        signable = encode_typed_data(full_message=typed_data(domain, item["primaryType"], message))
        typed.append(Account.recover_message(signable, signature=item["signature"]))
    hashes = [Account._recover_hash(bytes.fromhex(item["digest"][2:]), signature=item["signature"]) for item in request["hashes"]]
    transactions = [Account.recover_transaction(raw) for raw in request["transactions"]]
    return {"typed": typed, "hashes": hashes, "transactions": transactions}


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "generate":
        json.dump(generate(int(sys.argv[2]), int(sys.argv[3])), sys.stdout)
    elif len(sys.argv) == 2 and sys.argv[1] == "recover":
        json.dump(recover(json.load(sys.stdin)), sys.stdout)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
