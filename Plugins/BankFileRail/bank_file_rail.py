#!/usr/bin/env python3
"""Bank-transfer file rail for Settle: an out-of-process rail (protocol version 1).

It reads a directory of CSV bank statements of the merchant's bank account and turns each
line into rail events that Settle books, and into statement records for reconciliation. It
speaks JSON lines over stdin/stdout (see docs/rails.md); it logs to stderr, one line per
message, prefixed with its level (``INFO:``, ``WARNING:``, ``ERROR:``), which Settle forwards to
its own log.

Statement files are ``*.csv`` files in ``directory``, processed in file-name order (name them
by date: ``2026-11-29.csv``). Each has a header and then one line per bank transaction::

    id,booked_at,amount,currency,direction,counterparty,reference
    tx-1001,2026-11-29T09:12:00Z,125000,USD,credit,ACME Corp,INV-77

``amount`` is in minor units (digits only, greater than zero), ``direction`` is ``credit`` (money
came into the merchant's account) or ``debit`` (money left it). Lines appended to the newest file
and new files named after it are picked up by later pulls; a line without its final newline in
the newest file is still being written and is left for a later pull.

The cursor is ``"<file name>:<lines consumed>"`` (the header counts as a line). Settle stores it
only after a page is booked, and the same cursor always gives the same page, so a crash anywhere
loses or duplicates nothing.

Settings (the ``config`` object of the hello message):

- ``id`` (set by Settle): the rail id; it prefixes the rail's transfer ids.
- ``directory``: the statement directory.
- ``asset``: the ledger asset id (e.g. ``usd-bank``); ``currency`` (e.g. ``USD``) and ``scale``
  (decimals, e.g. 2) describe it.
- ``merchant_account``: the ledger account of the merchant the bank account belongs to.
- ``on_malformed``: ``fail`` (default) or ``skip``; see ``docs/rails.md`` and the README.

Test hooks (fault injection; each fires once when ``fault_marker`` names a file that does not
exist yet, which it then creates, so a restarted child behaves; without ``fault_marker`` it
fires in every process): ``crash_after_events`` (exit half-way through writing the page that
would take this process past that many events), ``hang_on_call``, ``garbage_on_call``,
``wrong_id_on_call``, ``exit_on_call`` (the N-th request of a process), ``answer_protocol``
(the protocol version to answer with) and ``pid_file`` (where to write the process id).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterator

PROTOCOL = 1
MAX_LINE_BYTES = 16 * 1024 * 1024
COLUMNS = ["id", "booked_at", "amount", "currency", "direction", "counterparty", "reference"]
_RAIL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
_LEDGER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
_DIGITS = re.compile(r"^[0-9]{1,78}$")


class RailFailure(Exception):
    """An error answered to Settle as ``{"error": {"code": ..., "message": ...}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def log(level: str, message: str) -> None:
    """One log line on stderr, which Settle forwards to its logger."""
    text = f"{level}: {message}".replace("\r", " ").replace("\n", " ")
    sys.stderr.buffer.write(text.encode("utf-8", errors="replace") + b"\n")
    sys.stderr.buffer.flush()


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class Config:
    rail_id: str
    directory: str
    asset: str
    currency: str
    scale: int
    merchant_account: str
    on_malformed: str
    faults: dict[str, Any]

    @staticmethod
    def parse(raw: Any) -> "Config":
        if not isinstance(raw, dict):
            raise RailFailure("invalid_rail_configuration", "config must be an object")

        def string(key: str, pattern: re.Pattern[str] | None = None) -> str:
            value = raw.get(key)
            if not isinstance(value, str) or not value:
                raise RailFailure("invalid_rail_configuration", f"setting {key} must be a non-empty string")
            if pattern is not None and not pattern.match(value):
                raise RailFailure("invalid_rail_configuration", f"setting {key} is not a valid id: {value!r}")
            return value

        rail_id = string("id", _RAIL_ID)
        directory = string("directory")
        if not os.path.isdir(directory):
            raise RailFailure("invalid_rail_configuration", f"setting directory: {directory!r} is not a directory")
        asset = string("asset", _LEDGER_ID)
        currency = string("currency")
        if not re.match(r"^[A-Za-z0-9._$-]{1,16}$", currency):
            raise RailFailure("invalid_rail_configuration", f"setting currency must be 1-16 of [A-Za-z0-9._$-], got {currency!r}")
        scale = raw.get("scale", 2)
        if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= 77:
            raise RailFailure("invalid_rail_configuration", "setting scale must be an integer between 0 and 77")
        merchant = string("merchant_account", _LEDGER_ID)
        on_malformed = raw.get("on_malformed", "fail")
        if on_malformed not in ("fail", "skip"):
            raise RailFailure("invalid_rail_configuration", "setting on_malformed must be fail or skip")
        faults = {}
        for key in ("crash_after_events", "hang_on_call", "garbage_on_call", "wrong_id_on_call", "exit_on_call", "answer_protocol"):
            value = raw.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise RailFailure("invalid_rail_configuration", f"setting {key} must be a non-negative integer")
            faults[key] = value
        for key in ("fault_marker", "pid_file"):
            if raw.get(key) is not None:
                faults[key] = string(key)
        return Config(rail_id, directory, asset, currency, scale, merchant, on_malformed, faults)


def descriptor(config: Config) -> dict[str, Any]:
    """The rail's descriptor: what Settle books and how (docs/rails.md, "Descriptor")."""

    def role(template: str, side: str, clearing: bool, summary: str) -> dict[str, Any]:
        return {"template": template, "normal_side": side, "limit": "none", "clearing": clearing, "summary": summary}

    def transition(name: str, from_: list[str], to: str, debit: str, credit: str, summary: str) -> dict[str, Any]:
        return {
            "name": name,
            "from": from_,
            "to": to,
            "action": {"type": "post"},
            "postings": [
                {"direction": "debit", "account": debit, "amount": "amount"},
                {"direction": "credit", "account": credit, "amount": "amount"},
            ],
            "summary": summary,
        }

    cash, unallocated = "bank:{asset}:cash", "bank:{asset}:unallocated"
    return {
        "id": config.rail_id,
        "kind": "process",
        "summary": f"bank transfers from the CSV statements in {config.directory}",
        "assets": [{"id": config.asset, "code": config.currency, "scale": config.scale, "rail": "bank", "metadata": {}}],
        "capabilities": ["pull", "statements"],
        "fund_flow": {
            "states": ["received", "allocated", "released", "sent"],
            "accounts": [
                role(cash, "debit", False, "the merchant's bank account, as its statements show it"),
                role(unallocated, "credit", True, "bank money between the statement line and the merchant's account"),
                role("{merchant}", "credit", False, "the merchant's ledger account (setting merchant_account)"),
            ],
            "transitions": [
                transition("received", [], "received", cash, unallocated, "an incoming transfer is on the statement"),
                transition("allocated", ["received"], "allocated", unallocated, "{merchant}", "it is credited to the merchant"),
                transition("released", [], "released", "{merchant}", unallocated, "an outgoing transfer is taken from the merchant"),
                transition("sent", ["released"], "sent", unallocated, cash, "it left the bank account, as the statement shows"),
            ],
        },
    }


# --------------------------------------------------------------------------------------------
# Statements


@dataclass(frozen=True)
class Row:
    file: str
    line: int  # 1-based line number in the file
    id: str
    booked_at: _dt.datetime
    amount: str
    direction: str  # credit | debit
    counterparty: str
    reference: str


class Malformed(Exception):
    """A statement line that is not a valid transaction."""


def parse_time(text: str) -> _dt.datetime:
    """An RFC 3339 time with an offset (``Z`` or ``+hh:mm``), as UTC."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$", text):
        raise ValueError(f"not an RFC 3339 time with an offset: {text!r}")
    text = text.replace("z", "Z").replace("t", "T")
    fraction = re.search(r"\.(\d+)", text)
    if fraction and len(fraction.group(1)) > 6:  # datetime keeps microseconds
        text = text.replace(fraction.group(0), "." + fraction.group(1)[:6])
    value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(_dt.timezone.utc)


def format_time(value: _dt.datetime) -> str:
    value = value.astimezone(_dt.timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_row(config: Config, file: str, line: int, text: str) -> Row:
    try:
        fields = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration) as error:
        raise Malformed(f"not a CSV line ({error})") from None
    if len(fields) != len(COLUMNS):
        raise Malformed(f"{len(fields)} columns, expected {len(COLUMNS)}")
    tx_id, booked_at, amount, currency, direction, counterparty, reference = fields
    if not 1 <= len(tx_id.encode()) <= 200 or any(ord(c) < 0x20 for c in tx_id):
        raise Malformed("id must be 1-200 bytes without control characters")
    try:
        when = parse_time(booked_at)
    except ValueError as error:
        raise Malformed(f"booked_at: {error}") from None
    if not _DIGITS.match(amount) or int(amount) == 0 or int(amount) >= 2**256:
        raise Malformed(f"amount must be a positive integer of minor units, got {amount!r}")
    if currency != config.currency:
        raise Malformed(f"currency {currency!r} is not the rail's {config.currency!r}")
    if direction not in ("credit", "debit"):
        raise Malformed(f"direction must be credit or debit, got {direction!r}")
    return Row(file, line, tx_id, when, str(int(amount)), direction, counterparty, reference)


def parse_cursor(cursor: Any) -> tuple[str, int] | None:
    if cursor is None:
        return None
    if not isinstance(cursor, str):
        raise RailFailure("invalid_cursor", "cursor must be a string or null")
    name, sep, count = cursor.rpartition(":")
    if not sep or not name.endswith(".csv") or "/" in name or not count.isdigit():
        raise RailFailure("invalid_cursor", f"not a cursor of this rail: {cursor!r}")
    return name, int(count)


def statement_files(directory: str) -> list[str]:
    try:
        names = os.listdir(directory)
    except OSError as error:
        raise RailFailure("rail_api_error", f"cannot list {directory}: {error.strerror}") from None
    return sorted(n for n in names if n.endswith(".csv") and not n.startswith(".") and os.path.isfile(os.path.join(directory, n)))


def complete_lines(path: str, is_last: bool) -> list[str]:
    """The file's complete lines, without their line breaks. The last line of the newest file
    counts only once its newline is written."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    parts = data.split(b"\n")
    tail = parts.pop()  # after the last newline: "" or a line still being written
    if tail and not is_last:
        parts.append(tail)
    return [p.rstrip(b"\r").decode("utf-8", errors="replace") for p in parts]


def scan(config: Config, cursor: Any) -> Iterator[tuple[str, int, Row | Malformed | None]]:
    """Every statement line after ``cursor``, in order, as ``(file, lines consumed after it, the
    row, what is wrong with it, or None for a header or blank line)``. A wrong header is not a
    line that can be skipped: it raises."""
    position = parse_cursor(cursor)
    files = statement_files(config.directory)
    if position is not None:
        if position[0] not in files:
            raise RailFailure("invalid_cursor", f"statement file {position[0]} of the cursor is gone from {config.directory}")
        files = files[files.index(position[0]) :]
    for index, name in enumerate(files):
        lines = complete_lines(os.path.join(config.directory, name), index == len(files) - 1)
        start = position[1] if position is not None and name == position[0] else 0
        if start > len(lines):
            raise RailFailure("invalid_cursor", f"cursor {cursor!r} is past the end of {name} ({len(lines)} lines)")
        if lines and start == 0:
            header = [h.strip() for h in lines[0].split(",")]
            if header != COLUMNS:
                raise RailFailure("invalid_statement", f"{name}: header is {lines[0]!r}, expected {','.join(COLUMNS)}")
            yield name, 1, None  # the header: a position, no row
        for number in range(max(start, 1), len(lines)):
            text = lines[number]
            if not text.strip():
                yield name, number + 1, None  # blank lines carry no transaction
                continue
            try:
                yield name, number + 1, parse_row(config, name, number + 1, text)
            except Malformed as error:
                yield name, number + 1, error


def events_of(config: Config, row: Row) -> list[dict[str, Any]]:
    metadata = {"counterparty": row.counterparty, "bank_reference": row.reference, "statement_file": row.file, "statement_line": row.line}
    occurred = format_time(row.booked_at)

    def event(transition: str, bindings: dict[str, str]) -> dict[str, Any]:
        return {
            "transition": transition,
            "reference": row.id,
            "asset": config.asset,
            "amounts": {"amount": row.amount},
            "bindings": bindings,
            "occurred_at": occurred,
            "metadata": metadata,
        }

    merchant = {"merchant": config.merchant_account}
    if row.direction == "credit":
        return [event("received", {}), event("allocated", merchant)]
    return [event("released", merchant), event("sent", {})]


def page_size(params: dict[str, Any]) -> int:
    size = params.get("page_size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise RailFailure("invalid_request", "page_size must be a positive integer")
    return size


class Rail:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.events_produced = 0

    def malformed(self, name: str, line: int, error: Malformed) -> None:
        """Reports a malformed line; raises unless the rail skips them."""
        message = f"{name} line {line}: {error}"
        if self.config.on_malformed == "skip":
            log("WARNING", f"skipping malformed statement line: {message}")
            return
        log("ERROR", f"malformed statement line, the rail stops here until it is fixed: {message}")
        raise RailFailure("invalid_event", f"malformed statement line {message}")

    def fetch_next(self, params: dict[str, Any]) -> dict[str, Any]:
        """Up to ``page_size`` events after the cursor; a line's events are never split across
        pages, and a page holds at least one line."""
        limit = page_size(params)
        cursor = params.get("cursor")
        events: list[dict[str, Any]] = []
        next_cursor = cursor
        for name, consumed, item in scan(self.config, cursor):
            if isinstance(item, Malformed):
                if self.config.on_malformed == "fail" and events:
                    return {"events": events, "next_cursor": next_cursor, "has_more": True}  # stop before it
                self.malformed(name, consumed, item)
            elif item is not None:
                produced = events_of(self.config, item)
                if events and len(events) + len(produced) > limit:
                    return {"events": events, "next_cursor": next_cursor, "has_more": True}
                events += produced
            next_cursor = f"{name}:{consumed}"
        return {"events": events, "next_cursor": next_cursor, "has_more": False}

    def statement(self, params: dict[str, Any]) -> dict[str, Any]:
        """The statement lines booked in ``[from, to)``, ``page_size`` at a time."""
        limit = page_size(params)
        try:
            start, end = parse_time(str(params.get("from"))), parse_time(str(params.get("to")))
        except ValueError as error:
            raise RailFailure("invalid_request", f"from and to must be RFC 3339 times: {error}") from None
        cursor = params.get("cursor")
        records: list[dict[str, Any]] = []
        next_cursor = cursor
        for name, consumed, item in scan(self.config, cursor):
            if isinstance(item, Malformed):
                if self.config.on_malformed == "fail" and records:
                    return {"records": records, "next_cursor": next_cursor, "has_more": True}
                self.malformed(name, consumed, item)
            elif item is not None and start <= item.booked_at < end:
                if len(records) == limit:
                    return {"records": records, "next_cursor": next_cursor, "has_more": True}
                records.append(
                    {
                        "reference": item.id,
                        "type": "bank_transfer",
                        "direction": "inbound" if item.direction == "credit" else "outbound",
                        "asset": self.config.asset,
                        "amount": item.amount,
                        "fee": "0",
                        "status": "booked",
                        "occurred_at": format_time(item.booked_at),
                        "details": {
                            "counterparty": item.counterparty,
                            "bank_reference": item.reference,
                            "statement_file": item.file,
                            "statement_line": str(item.line),
                        },
                    }
                )
            next_cursor = f"{name}:{consumed}"
        return {"records": records, "next_cursor": next_cursor, "has_more": False}


# --------------------------------------------------------------------------------------------
# Protocol


class Faults:
    """Test hooks: each fires at most once per marker file (see the module documentation)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.calls = 0

    def armed(self, key: str) -> bool:
        if key not in self.settings:
            return False
        marker = self.settings.get("fault_marker")
        if marker is None:
            return True
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return True
        except FileExistsError:
            return False

    def on_call(self, key: str) -> bool:
        return self.settings.get(key) == self.calls and self.armed(key)


def write(message: dict[str, Any]) -> None:
    line = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    sys.stdout.buffer.write(line.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


def serve(stdin: Any = None) -> int:
    """Runs the protocol on stdin/stdout until stdin closes; the exit status."""
    stdin = stdin or sys.stdin.buffer
    first = stdin.readline(MAX_LINE_BYTES + 1)
    if not first:
        return 0
    try:
        hello = json.loads(first)
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            raise ValueError("the first message must be hello")
    except ValueError as error:
        log("ERROR", f"protocol: {error}")
        return 2
    try:
        config = Config.parse(hello.get("config"))
    except RailFailure as failure:
        write({"type": "error", "error": {"code": failure.code, "message": failure.message}})
        log("ERROR", failure.message)
        return 1
    faults = Faults(config.faults)
    if "pid_file" in config.faults:
        with open(config.faults["pid_file"], "w") as f:
            f.write(str(os.getpid()))
    if hello.get("protocol") != PROTOCOL:
        log("WARNING", f"Settle asks for protocol {hello.get('protocol')!r}; this rail speaks {PROTOCOL}")
    write({"type": "hello", "protocol": config.faults.get("answer_protocol", PROTOCOL), "descriptor": descriptor(config)})
    log("INFO", f"rail {config.rail_id} ready: statements in {config.directory}")
    rail = Rail(config)

    while True:
        raw = stdin.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return 0
        try:
            request = json.loads(raw)
            request_id, method = request["id"], request["method"]
            params = request.get("params") or {}
            if not isinstance(params, dict):
                raise ValueError("params must be an object")
        except (ValueError, KeyError, TypeError) as error:
            log("ERROR", f"protocol: not a request: {error}")
            return 2
        faults.calls += 1
        if faults.on_call("exit_on_call"):
            log("ERROR", "fault injection: exiting")
            os._exit(3)
        if faults.on_call("hang_on_call"):
            log("WARNING", "fault injection: hanging")
            time.sleep(3600)
        if faults.on_call("garbage_on_call"):
            sys.stdout.buffer.write(b"this is not {json\n")
            sys.stdout.buffer.flush()
            continue
        if faults.on_call("wrong_id_on_call"):
            request_id = request_id + 1000 if isinstance(request_id, int) else 0
        try:
            if method == "fetch_next":
                result = rail.fetch_next(params)
                crash_after = config.faults.get("crash_after_events")
                if crash_after is not None and rail.events_produced + len(result["events"]) > crash_after and faults.armed("crash_after_events"):
                    text = json.dumps({"id": request_id, "result": result})
                    sys.stdout.buffer.write(text[: len(text) // 2].encode())  # half a page, no newline, then die
                    sys.stdout.buffer.flush()
                    log("ERROR", "fault injection: crashing in the middle of a page")
                    os._exit(70)
                rail.events_produced += len(result["events"])
            elif method == "statement":
                result = rail.statement(params)
            else:
                raise RailFailure("unsupported", f"unknown method {method!r}")
            write({"id": request_id, "result": result})
        except RailFailure as failure:
            write({"id": request_id, "error": {"code": failure.code, "message": failure.message}})
        except Exception as error:  # a bug or an I/O error: tell Settle, keep serving
            log("ERROR", f"{method} failed: {type(error).__name__}: {error}")
            write({"id": request_id, "error": {"code": "rail_api_error", "message": f"{type(error).__name__}: {error}"}})


if __name__ == "__main__":
    sys.exit(serve())
