"""Unit tests of the bank-transfer file rail (stdlib unittest; run by ProcessRailTests too):

    python -m unittest discover -s Plugins/BankFileRail -p 'test_*.py'
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bank_file_rail as rail  # noqa: E402

HEADER = "id,booked_at,amount,currency,direction,counterparty,reference\n"
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bank_file_rail.py")


def line(tx: str, amount: int = 100, direction: str = "credit", when: str = "2026-11-29T09:00:00Z") -> str:
    return f'{tx},{when},{amount},USD,{direction},"Payer, Inc.",REF-{tx}\n'


class RailTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name
        self.logged: list[tuple[str, str]] = []
        original = rail.log
        rail.log = lambda level, message: self.logged.append((level, message))
        self.addCleanup(setattr, rail, "log", original)

    def settings(self, **extra: object) -> dict:
        config = {
            "id": "bank-test",
            "directory": self.dir,
            "asset": "usd-bank",
            "currency": "USD",
            "scale": 2,
            "merchant_account": "merchant:acme",
        }
        config.update(extra)
        return config

    def rail(self, **extra: object) -> rail.Rail:
        return rail.Rail(rail.Config.parse(self.settings(**extra)))

    def write(self, name: str, text: str, header: bool = True) -> None:
        with open(os.path.join(self.dir, name), "w") as f:
            f.write((HEADER if header else "") + text)

    def append(self, name: str, text: str) -> None:
        with open(os.path.join(self.dir, name), "a") as f:
            f.write(text)

    def pull_all(self, r: rail.Rail, cursor: str | None = None, size: int = 100) -> tuple[list[dict], str | None]:
        events: list[dict] = []
        for _ in range(1000):
            page = r.fetch_next({"cursor": cursor, "page_size": size})
            events += page["events"]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return events, cursor
        self.fail("too many pages")


class ConfigTests(RailTestCase):
    def test_valid_settings(self) -> None:
        config = rail.Config.parse(self.settings(on_malformed="skip"))
        self.assertEqual(config.on_malformed, "skip")
        self.assertEqual(config.scale, 2)

    def test_bad_settings_are_refused(self) -> None:
        for bad in ({"directory": "/nonexistent"}, {"asset": "bad asset"}, {"merchant_account": ""}, {"id": "Bank"},
                    {"scale": "2"}, {"on_malformed": "ignore"}, {"hang_on_call": -1}):
            with self.subTest(bad=bad), self.assertRaises(rail.RailFailure) as caught:
                rail.Config.parse(self.settings(**bad))
            self.assertEqual(caught.exception.code, "invalid_rail_configuration")

    def test_descriptor_is_coherent(self) -> None:
        d = rail.descriptor(rail.Config.parse(self.settings()))
        flow = d["fund_flow"]
        templates = {a["template"] for a in flow["accounts"]}
        for t in flow["transitions"]:
            self.assertIn(t["to"], flow["states"])
            self.assertEqual({p["direction"] for p in t["postings"]}, {"debit", "credit"})
            for p in t["postings"]:
                self.assertIn(p["account"], templates)
        self.assertEqual([a["template"] for a in flow["accounts"] if a["clearing"]], ["bank:{asset}:unallocated"])
        self.assertEqual(d["capabilities"], ["pull", "statements"])


class FetchTests(RailTestCase):
    def test_events_per_line_and_cursor(self) -> None:
        self.write("2026-11-29.csv", line("t1", 150) + line("t2", 40, "debit"))
        events, cursor = self.pull_all(self.rail())
        self.assertEqual([(e["transition"], e["reference"]) for e in events],
                         [("received", "t1"), ("allocated", "t1"), ("released", "t2"), ("sent", "t2")])
        self.assertEqual(events[1]["bindings"], {"merchant": "merchant:acme"})
        self.assertEqual(events[0]["amounts"], {"amount": "150"})
        self.assertEqual(events[0]["metadata"]["counterparty"], "Payer, Inc.")
        self.assertEqual(cursor, "2026-11-29.csv:3")

    def test_same_cursor_same_page(self) -> None:
        self.write("a.csv", "".join(line(f"t{k}", k + 1) for k in range(5)))
        r = self.rail()
        first = r.fetch_next({"cursor": "a.csv:2", "page_size": 4})
        second = r.fetch_next({"cursor": "a.csv:2", "page_size": 4})
        self.assertEqual(first, second)
        self.assertEqual([e["reference"] for e in first["events"]], ["t1", "t1", "t2", "t2"])
        self.assertTrue(first["has_more"])

    def test_pages_never_split_a_line_and_hold_at_least_one(self) -> None:
        self.write("a.csv", line("t1") + line("t2"))
        page = self.rail().fetch_next({"cursor": None, "page_size": 1})
        self.assertEqual(len(page["events"]), 2)
        self.assertEqual(page["next_cursor"], "a.csv:2")
        self.assertTrue(page["has_more"])

    def test_files_in_name_order_and_appends(self) -> None:
        self.write("2026-11-02.csv", line("b1"))
        self.write("2026-11-01.csv", line("a1"))
        r = self.rail()
        events, cursor = self.pull_all(r)
        self.assertEqual([e["reference"] for e in events[::2]], ["a1", "b1"])
        self.append("2026-11-02.csv", line("b2") + "b3,2026-11-29T09:00:00Z,1")  # b3 is still being written
        events, cursor = self.pull_all(r, cursor)
        self.assertEqual([e["reference"] for e in events[::2]], ["b2"])
        self.append("2026-11-02.csv", "0,USD,credit,x,y\n")
        events, cursor = self.pull_all(r, cursor)
        self.assertEqual([(e["reference"], e["amounts"]["amount"]) for e in events[::2]], [("b3", "10")])
        self.assertEqual(self.pull_all(r, cursor), ([], cursor))

    def test_header_only_and_empty_directory(self) -> None:
        r = self.rail()
        self.assertEqual(r.fetch_next({"cursor": None, "page_size": 10}), {"events": [], "next_cursor": None, "has_more": False})
        self.write("a.csv", "")
        self.assertEqual(r.fetch_next({"cursor": None, "page_size": 10})["next_cursor"], "a.csv:1")

    def test_wrong_header_fails(self) -> None:
        self.write("a.csv", "id,amount\n" + line("t1"), header=False)
        with self.assertRaises(rail.RailFailure) as caught:
            self.rail().fetch_next({"cursor": None, "page_size": 10})
        self.assertEqual(caught.exception.code, "invalid_statement")

    def test_bad_cursors(self) -> None:
        self.write("a.csv", line("t1"))
        for cursor in ("nonsense", "b.csv:1", "a.csv:99", 7):
            with self.subTest(cursor=cursor), self.assertRaises(rail.RailFailure) as caught:
                self.rail().fetch_next({"cursor": cursor, "page_size": 10})
            self.assertEqual(caught.exception.code, "invalid_cursor")


class MalformedTests(RailTestCase):
    BAD = [
        "t9,2026-11-29T09:00:00Z,-5,USD,credit,x,y\n",
        "t9,2026-11-29T09:00:00Z,0,USD,credit,x,y\n",
        "t9,2026-11-29T09:00:00Z,1.50,USD,credit,x,y\n",
        "t9,2026-11-29 09:00,100,USD,credit,x,y\n",
        "t9,2026-11-29T09:00:00,100,USD,credit,x,y\n",
        "t9,2026-11-29T09:00:00Z,100,EUR,credit,x,y\n",
        "t9,2026-11-29T09:00:00Z,100,USD,sideways,x,y\n",
        ",2026-11-29T09:00:00Z,100,USD,credit,x,y\n",
        "t9,2026-11-29T09:00:00Z,100,USD,credit\n",
        't9,2026-11-29T09:00:00Z,100,USD,credit,"unterminated,y\n',
    ]

    def test_fail_mode_stops_before_the_line_then_fails_on_it(self) -> None:
        for bad in self.BAD:
            with self.subTest(bad=bad):
                self.write("a.csv", line("t1") + bad + line("t3"))
                r = self.rail()
                page = r.fetch_next({"cursor": None, "page_size": 100})
                self.assertEqual([e["reference"] for e in page["events"]], ["t1", "t1"])
                self.assertEqual(page["next_cursor"], "a.csv:2")
                self.assertTrue(page["has_more"])
                with self.assertRaises(rail.RailFailure) as caught:
                    r.fetch_next({"cursor": "a.csv:2", "page_size": 100})
                self.assertEqual(caught.exception.code, "invalid_event")
                self.assertIn("line 3", caught.exception.message)
                self.assertEqual(self.logged[-1][0], "ERROR")

    def test_skip_mode_skips_deterministically(self) -> None:
        self.write("a.csv", line("t1") + self.BAD[0] + "\n" + line("t3"))
        r = self.rail(on_malformed="skip")
        first, cursor = self.pull_all(r, size=2)
        second, again = self.pull_all(r, size=2)
        self.assertEqual(first, second)
        self.assertEqual(cursor, again)
        self.assertEqual([e["reference"] for e in first[::2]], ["t1", "t3"])
        self.assertEqual(cursor, "a.csv:5")
        self.assertIn(("WARNING", "skipping malformed statement line: a.csv line 3: amount must be a positive integer of minor units, got '-5'"),
                      self.logged)


class StatementTests(RailTestCase):
    def test_window_and_paging(self) -> None:
        self.write("a.csv", line("t1", when="2026-11-28T23:59:59Z") + line("t2", 7, "debit", "2026-11-29T00:00:00Z")
                   + line("t3", when="2026-11-29T12:30:00.250+02:00") + line("t4", when="2026-11-30T00:00:00Z"))
        r = self.rail()
        records, cursor = [], None
        for _ in range(10):
            page = r.statement({"from": "2026-11-29T00:00:00Z", "to": "2026-11-30T00:00:00Z", "cursor": cursor, "page_size": 1})
            records += page["records"]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        self.assertEqual([(x["reference"], x["direction"], x["amount"]) for x in records],
                         [("t2", "outbound", "7"), ("t3", "inbound", "100")])
        self.assertEqual(records[1]["occurred_at"], "2026-11-29T10:30:00.25Z")

    def test_bad_window(self) -> None:
        with self.assertRaises(rail.RailFailure):
            self.rail().statement({"from": "yesterday", "to": "2026-11-30T00:00:00Z", "page_size": 1})


class ProtocolTests(RailTestCase):
    def run_rail(self, messages: list[dict], **extra: object) -> tuple[list[dict], int]:
        stdin = "".join(json.dumps(m) + "\n" for m in [{"type": "hello", "protocol": 1, "config": self.settings(**extra)}] + messages)
        done = subprocess.run([sys.executable, SCRIPT], input=stdin.encode(), capture_output=True, timeout=30)
        lines = [json.loads(x) for x in done.stdout.decode().splitlines()]
        return lines, done.returncode

    def test_handshake_and_requests(self) -> None:
        self.write("a.csv", line("t1"))
        answers, status = self.run_rail([
            {"id": 1, "method": "fetch_next", "params": {"cursor": None, "page_size": 10}},
            {"id": 2, "method": "verify_webhook", "params": {"headers": {}, "body_base64": ""}},
            {"id": 3, "method": "fetch_next", "params": {"cursor": "zzz", "page_size": 10}},
        ])
        self.assertEqual(status, 0)
        self.assertEqual(answers[0]["type"], "hello")
        self.assertEqual(answers[0]["protocol"], 1)
        self.assertEqual(answers[0]["descriptor"]["id"], "bank-test")
        self.assertEqual(answers[1]["id"], 1)
        self.assertEqual(len(answers[1]["result"]["events"]), 2)
        self.assertEqual(answers[2], {"id": 2, "error": {"code": "unsupported", "message": "unknown method 'verify_webhook'"}})
        self.assertEqual(answers[3]["error"]["code"], "invalid_cursor")

    def test_bad_settings_answer_an_error(self) -> None:
        answers, status = self.run_rail([], directory="/nonexistent")
        self.assertEqual(status, 1)
        self.assertEqual(answers[0]["type"], "error")
        self.assertEqual(answers[0]["error"]["code"], "invalid_rail_configuration")

    def test_crash_injection_fires_once_per_marker(self) -> None:
        self.write("a.csv", line("t1") + line("t2") + line("t3"))
        marker = os.path.join(self.dir, "fired")
        request = {"id": 1, "method": "fetch_next", "params": {"cursor": None, "page_size": 100}}
        stdin = "".join(json.dumps(m) + "\n" for m in [{"type": "hello", "protocol": 1, "config": self.settings(crash_after_events=3, fault_marker=marker)}, request])
        first = subprocess.run([sys.executable, SCRIPT], input=stdin.encode(), capture_output=True, timeout=30)
        self.assertEqual(first.returncode, 70)
        self.assertFalse(first.stdout.endswith(b"\n"))  # half a page
        self.assertTrue(os.path.exists(marker))
        second = subprocess.run([sys.executable, SCRIPT], input=stdin.encode(), capture_output=True, timeout=30)
        self.assertEqual(second.returncode, 0)
        self.assertEqual(len(json.loads(second.stdout.decode().splitlines()[1])["result"]["events"]), 6)

    def test_garbage_and_wrong_id_injection(self) -> None:
        self.write("a.csv", line("t1"))
        request = {"id": 5, "method": "fetch_next", "params": {"cursor": None, "page_size": 100}}
        done = subprocess.run([sys.executable, SCRIPT], input=("".join(json.dumps(m) + "\n" for m in [
            {"type": "hello", "protocol": 1, "config": self.settings(garbage_on_call=1, wrong_id_on_call=2)}, request, request])).encode(),
            capture_output=True, timeout=30)
        out = done.stdout.decode().splitlines()
        self.assertEqual(out[1], "this is not {json")
        self.assertEqual(json.loads(out[2])["id"], 1005)

    def test_serve_ends_on_end_of_input(self) -> None:
        self.assertEqual(rail.serve(io.BytesIO(b"")), 0)


if __name__ == "__main__":
    unittest.main()
