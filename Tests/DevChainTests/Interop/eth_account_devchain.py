"""End-to-end client of the dev chain written with eth-account only (no web3): what a real
Python payer does.

    python eth_account_devchain.py RPC_URL TOKEN FROM_KEY TO VALUE

1. reads the chain id, token name/version (eth_call), the sender's pending nonce and the gas price
   over plain urllib JSON-RPC;
2. signs an EIP-3009 TransferWithAuthorization with Account.sign_typed_data;
3. signs a type-2 transaction calling transferWithAuthorization(..., v, r, s) with
   Account.sign_transaction and sends it with eth_sendRawTransaction;
4. waits for the receipt and prints one JSON object on stdout.
"""

import json
import os
import sys
import time
import urllib.request

from eth_abi import decode, encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

_next_id = 0


def rpc(url, method, params):
    global _next_id
    _next_id += 1
    body = json.dumps({"jsonrpc": "2.0", "id": _next_id, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def selector(signature):
    return keccak(text=signature)[:4]


def call(url, token, signature, types=(), values=(), returns=("string",)):
    data = "0x" + (selector(signature) + encode(list(types), list(values))).hex()
    result = rpc(url, "eth_call", [{"to": token, "data": data}, "latest"])
    return decode(list(returns), bytes.fromhex(result[2:]))[0]


def main():
    url, token, key, to, value = sys.argv[1], to_checksum_address(sys.argv[2]), sys.argv[3], to_checksum_address(sys.argv[4]), int(sys.argv[5])
    account = Account.from_key(key)
    chain_id = int(rpc(url, "eth_chainId", []), 16)
    name = call(url, token, "name()")
    version = call(url, token, "version()")
    now = int(time.time())
    nonce32 = os.urandom(32)
    authorization = {
        "from": account.address,
        "to": to,
        "value": value,
        "validAfter": 0,
        "validBefore": now + 3600,
        "nonce": nonce32,
    }
    signed_authorization = Account.sign_typed_data(
        key,
        domain_data={"name": name, "version": version, "chainId": chain_id, "verifyingContract": token},
        message_types={
            "TransferWithAuthorization": [
                {"name": "from", "type": "address"},
                {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "validAfter", "type": "uint256"},
                {"name": "validBefore", "type": "uint256"},
                {"name": "nonce", "type": "bytes32"},
            ]
        },
        message_data=authorization,
    )
    calldata = selector(
        "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)"
    ) + encode(
        ["address", "address", "uint256", "uint256", "uint256", "bytes32", "uint8", "bytes32", "bytes32"],
        [
            account.address,
            to,
            value,
            0,
            now + 3600,
            nonce32,
            signed_authorization.v,
            signed_authorization.r.to_bytes(32, "big"),
            signed_authorization.s.to_bytes(32, "big"),
        ],
    )
    estimate = int(rpc(url, "eth_estimateGas", [{"from": account.address, "to": token, "data": "0x" + calldata.hex()}]), 16)
    tip = int(rpc(url, "eth_maxPriorityFeePerGas", []), 16)
    base_fee = int(rpc(url, "eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
    transaction = {
        "type": 2,
        "chainId": chain_id,
        "nonce": int(rpc(url, "eth_getTransactionCount", [account.address, "pending"]), 16),
        "maxPriorityFeePerGas": tip,
        "maxFeePerGas": 2 * base_fee + tip,
        "gas": estimate * 2,
        "to": token,
        "value": 0,
        "data": calldata,
    }
    signed = Account.sign_transaction(transaction, key)
    tx_hash = rpc(url, "eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex().removeprefix("0x")])
    expected_hash = "0x" + signed.hash.hex().removeprefix("0x")
    receipt = None
    deadline = time.time() + 300
    while receipt is None and time.time() < deadline:
        receipt = rpc(url, "eth_getTransactionReceipt", [tx_hash])
        if receipt is None:
            time.sleep(0.05)
    if receipt is None:
        raise RuntimeError("no receipt within 20 s")
    print(
        json.dumps(
            {
                "from": account.address,
                "txHash": tx_hash,
                "expectedHash": expected_hash,
                "status": int(receipt["status"], 16),
                "blockNumber": int(receipt["blockNumber"], 16),
                "gasUsed": int(receipt["gasUsed"], 16),
                "estimate": estimate,
                "logTopics": [log["topics"][0] for log in receipt["logs"]],
                "authorizationNonce": "0x" + nonce32.hex(),
                "balanceAfter": str(call(url, token, "balanceOf(address)", ["address"], [account.address], ["uint256"])),
            }
        )
    )


if __name__ == "__main__":
    main()
