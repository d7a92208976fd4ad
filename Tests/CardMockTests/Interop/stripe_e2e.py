"""Drives the Settle card mock end to end with the official stripe-python SDK (16.1.0).

Usage: stripe_e2e.py http://127.0.0.1:PORT

Each check prints PASS/FAIL; the last line is "N passed, M failed" and the exit status is
non-zero when anything failed. Run by CardMockTests/StripePythonTests.swift.
"""

import http.server
import json
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
import uuid

import stripe

BASE = sys.argv[1].rstrip("/")
stripe.api_key = "sk_test_stripe_python_e2e"
stripe.api_base = BASE
stripe.max_network_retries = 2

results = {"passed": 0, "failed": 0}


def check(name):
    def run(fn):
        try:
            fn()
            results["passed"] += 1
            print(f"PASS {name}", flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported, none stops the run
            results["failed"] += 1
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
        return fn

    return run


def helper(path, **params):
    """POSTs a form to a mock helper (/_mock/...), which needs no key."""
    body = urllib.parse.urlencode(params).encode()
    with urllib.request.urlopen(urllib.request.Request(BASE + path, data=body, method="POST"), timeout=300) as response:
        return json.loads(response.read())


def card_payment(amount, card="pm_card_visa", capture="automatic", **extra):
    return stripe.PaymentIntent.create(
        amount=amount,
        currency="usd",
        payment_method=card,
        payment_method_types=["card"],
        confirm=True,
        capture_method=capture,
        **extra,
    )


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


@check("automatic capture books a pending balance transaction with fees")
def automatic_capture():
    pi = card_payment(2000, metadata={"order": "42"}, expand=["latest_charge.balance_transaction"])
    expect(isinstance(pi, stripe.PaymentIntent), f"not a PaymentIntent: {type(pi)}")
    expect(pi.status == "succeeded", pi.status)
    expect(pi.metadata["order"] == "42", pi.metadata)
    txn = pi.latest_charge.balance_transaction
    expect(isinstance(txn, stripe.BalanceTransaction), f"not a BalanceTransaction: {type(txn)}")
    expect((txn.amount, txn.fee, txn.net, txn.status) == (2000, 88, 1912, "pending"), txn)
    expect(txn.fee_details[0].type == "stripe_fee", txn.fee_details)
    expect(txn.available_on == txn.created + 2 * 86400, (txn.available_on, txn.created))


@check("manual capture of part of the authorization")
def partial_capture():
    pi = card_payment(2000, capture="manual")
    expect(pi.status == "requires_capture", pi.status)
    expect(pi.amount_capturable == 2000, pi.amount_capturable)
    pi = stripe.PaymentIntent.capture(pi.id, amount_to_capture=1500, expand=["latest_charge.balance_transaction"])
    expect(pi.status == "succeeded" and pi.amount_received == 1500, pi)
    charge = pi.latest_charge
    expect(charge.amount_captured == 1500 and charge.captured, charge)
    expect((charge.balance_transaction.amount, charge.balance_transaction.fee) == (1500, 74), charge.balance_transaction)


@check("cancel releases an authorization")
def cancel():
    pi = card_payment(2000, capture="manual")
    pi = stripe.PaymentIntent.cancel(pi.id, cancellation_reason="abandoned")
    expect(pi.status == "canceled" and pi.cancellation_reason == "abandoned", pi)
    try:
        stripe.PaymentIntent.cancel(pi.id)
        raise AssertionError("canceling twice was accepted")
    except stripe.InvalidRequestError as error:
        expect(error.code == "payment_intent_unexpected_state", error.code)


@check("a decline raises CardError with the decline code")
def decline():
    try:
        card_payment(2000, card="pm_card_visa_chargeDeclinedInsufficientFunds")
        raise AssertionError("the decline succeeded")
    except stripe.CardError as error:
        expect(error.http_status == 402, error.http_status)
        expect(error.code == "card_declined", error.code)
        expect(error.error.decline_code == "insufficient_funds", error.error)
        expect(error.error.payment_intent["status"] == "requires_payment_method", error.error.payment_intent)


@check("an amount under the minimum raises InvalidRequestError amount_too_small")
def too_small():
    try:
        card_payment(49)
        raise AssertionError("49 cents were accepted")
    except stripe.InvalidRequestError as error:
        expect(error.code == "amount_too_small" and error.param == "amount", (error.code, error.param))


@check("idempotency: replay, then IdempotencyError on other parameters")
def idempotency():
    key = str(uuid.uuid4())
    first = card_payment(2500, idempotency_key=key)
    second = card_payment(2500, idempotency_key=key)
    expect(first.id == second.id, (first.id, second.id))
    expect(second.last_response.headers.get("Idempotent-Replayed") == "true", dict(second.last_response.headers))
    try:
        card_payment(2600, idempotency_key=key)
        raise AssertionError("other parameters were accepted under the same key")
    except stripe.IdempotencyError:
        pass


@check("refunds: partial twice, then charge_already_refunded")
def refunds():
    pi = card_payment(3000)
    one = stripe.Refund.create(payment_intent=pi.id, amount=1000, reason="requested_by_customer")
    two = stripe.Refund.create(payment_intent=pi.id, amount=2000)
    expect(one.status == "succeeded" and two.status == "succeeded", (one.status, two.status))
    txn = stripe.BalanceTransaction.retrieve(one.balance_transaction)
    expect((txn.amount, txn.fee, txn.type) == (-1000, 0, "refund"), txn)
    try:
        stripe.Refund.create(payment_intent=pi.id, amount=1)
        raise AssertionError("a refund beyond the charge was accepted")
    except stripe.InvalidRequestError as error:
        expect(error.code == "charge_already_refunded", error.code)


state = {}


@check("the clock makes funds available")
def availability():
    pi = card_payment(4000, expand=["latest_charge"])
    txn_id = pi.latest_charge.balance_transaction
    expect(stripe.BalanceTransaction.retrieve(txn_id).status == "pending", "not pending")
    helper("/_mock/clock/advance", seconds=2 * 86400 + 1)
    expect(stripe.BalanceTransaction.retrieve(txn_id).status == "available", "not available after two days")
    state["swept"] = txn_id


@check("payouts: the balance transactions of a payout add up to it (auto-paging)")
def payout_reconciliation():
    for amount in (1000, 2000, 3000):
        card_payment(amount, card="pm_card_bypassPending")
    run = helper("/_mock/payouts/run")
    expect(len(run["data"]) == 1, run)
    payout = stripe.Payout.retrieve(run["data"][0]["id"])
    expect(payout.automatic and payout.status == "pending", payout)
    automatic = [p for p in stripe.Payout.list(limit=100).auto_paging_iter() if p.automatic]
    expect(payout.id in [p.id for p in automatic], "the payout is not listed")
    for each in automatic:
        lines = list(stripe.BalanceTransaction.list(payout=each.id, limit=2).auto_paging_iter())
        own = [t for t in lines if t.id == each.balance_transaction]
        expect(len(own) == 1 and own[0].amount == -each.amount and own[0].type == "payout", own)
        total = sum(t.net for t in lines if t.id != each.balance_transaction)
        expect(total == each.amount, (each.id, total, each.amount))
    swept = [t.id for p in automatic for t in stripe.BalanceTransaction.list(payout=p.id).auto_paging_iter()]
    expect(state.get("swept") in swept, "the available charge was not swept")
    helper("/_mock/clock/advance", seconds=86400 + 3600)
    expect(stripe.Payout.retrieve(payout.id).status == "paid", "not paid a day later")
    state["payout"] = payout


@check("a failed payout returns the funds")
def failed_payout():
    card_payment(5000, card="pm_card_bypassPending")
    run = helper("/_mock/payouts/run")
    payout_id = run["data"][0]["id"]
    helper(f"/_mock/payouts/{payout_id}/fail", failure_code="account_closed")
    payout = stripe.Payout.retrieve(payout_id)
    expect(payout.status == "failed" and payout.failure_code == "account_closed", payout)
    txn = stripe.BalanceTransaction.retrieve(payout.failure_balance_transaction)
    expect(txn.type == "payout_failure" and txn.amount == payout.amount, txn)
    available = {b.currency: b.amount for b in stripe.Balance.retrieve().available}
    expect(available["usd"] == payout.amount, (available, payout.amount))
    events = stripe.Event.list(type="payout.failed")
    expect(any(e.data.object.id == payout_id for e in events.data), "no payout.failed event")


@check("a dispute withdraws the amount and the dispute fee; closing loses it")
def dispute():
    pi = card_payment(4500)
    opened = helper("/_mock/disputes", charge=pi.latest_charge)
    dp = stripe.Dispute.retrieve(opened["id"])
    expect(isinstance(dp, stripe.Dispute) and dp.status == "needs_response", dp)
    withdrawal = dp.balance_transactions[0]
    expect((withdrawal.amount, withdrawal.fee, withdrawal.net) == (-4500, 1500, -6000), withdrawal)
    closed = stripe.Dispute.close(dp.id)
    expect(closed.status == "lost", closed.status)


@check("events are listable and retrievable")
def events():
    listed = stripe.Event.list(type="charge.dispute.created", limit=3)
    expect(len(listed.data) >= 1 and listed.data[0].type == "charge.dispute.created", listed)
    one = stripe.Event.retrieve(listed.data[0].id)
    expect(isinstance(one, stripe.Event) and one.data.object.object == "dispute", one)
    recent = stripe.Event.list(created={"gte": one.created})
    expect(any(e.id == one.id for e in recent.auto_paging_iter()), "created[gte] lost the event")


@check("shared payment tokens pay once within their limit")
def shared_payment_token():
    token = helper("/_mock/shared_payment_tokens", **{"usage_limits[currency]": "usd", "usage_limits[max_amount]": "1000"})
    pi = stripe.PaymentIntent.create(
        amount=900, currency="usd", confirm=True, payment_method_types=["card"], shared_payment_granted_token=token["id"]
    )
    expect(pi.status == "succeeded", pi.status)
    try:
        stripe.PaymentIntent.create(
            amount=900, currency="usd", confirm=True, payment_method_types=["card"], shared_payment_granted_token=token["id"]
        )
        raise AssertionError("a spent token paid again")
    except stripe.InvalidRequestError as error:
        expect(error.code == "shared_payment_token_already_used", error.code)


class Receiver(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((body, self.headers.get("Stripe-Signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@check("a webhook verifies with stripe.Webhook.construct_event")
def webhook():
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = stripe.WebhookEndpoint.create(
            url=f"http://127.0.0.1:{server.server_port}/hook", enabled_events=["payment_intent.succeeded"]
        )
        expect(endpoint.secret.startswith("whsec_"), endpoint.secret)
        pi = card_payment(2200)
        deadline = time.time() + 15
        while not Receiver.received and time.time() < deadline:
            time.sleep(0.05)
        expect(Receiver.received, "no webhook arrived")
        body, signature = Receiver.received[0]
        event = stripe.Webhook.construct_event(body, signature, endpoint.secret)
        expect(event.type == "payment_intent.succeeded" and event.data.object.id == pi.id, event)
        try:
            stripe.Webhook.construct_event(body.replace(b"succeeded", b"failed"), signature, endpoint.secret)
            raise AssertionError("a tampered body verified")
        except stripe.SignatureVerificationError:
            pass
        stripe.WebhookEndpoint.delete(endpoint.id)
    finally:
        server.shutdown()


print(f"{results['passed']} passed, {results['failed']} failed", flush=True)
sys.exit(1 if results["failed"] else 0)
