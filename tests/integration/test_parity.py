"""Property-based: schema.problem() (Python, used by bin/reconcile and the checks) and the
processor's rules (Spark SQL expressions, processor/classify.py, and its Java, processor/jvm_pass.py)
give the same reason for every input, and the Python rules never raise, whatever the bytes.

Hypothesis generates thousands of byte strings and JSON texts: arbitrary bytes, deep nesting
around the Jackson limit (1000), long numbers around its 1000-digit limit, wide objects,
odd unicode (lone surrogates, line separators, BOM, replacement bytes), every field given
every JSON type, repeated names, and valid messages mutated field by field. The Python side
runs per example; all examples are then classified by Spark in one DataFrame (one job), and
every disagreement is listed. Examples are derandomized, so a run is repeatable.
"""
from __future__ import annotations

import json
from typing import Callable

import pytest

from cryptostream.pipeline.processor import classify, jvm_pass
from cryptostream.pipeline.schema import MAX_MESSAGE_BYTES, Reason, problem
from tests.helpers.messages import NOW, SYMBOLS
from tests.helpers.spark import kafka_frame, rules

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = pytest.mark.integration  # a local Spark session

SKEW_MS = 300_000
VALID = {"schema_version": "1", "symbol": '"BTCUSDT"', "price": '"97123.45000000"', "event_time": str(NOW),
         "ingest_time": str(NOW + 5), "source": '"binance-rest"'}
TRADE = {"trade_id": "42", "quantity": '"0.5"'}


def obj(pairs: list[tuple[str, str]]) -> str:
    """A JSON object from (name, raw JSON value) pairs: names may repeat, values are verbatim."""
    return "{" + ",".join(f"{json.dumps(name)}:{value}" for name, value in pairs) + "}"


# --- JSON values, as raw text -------------------------------------------------------------------
odd_chars = st.sampled_from(["\u2028", "\u2029", "\u0085", "\r", "\n", "\t", "\x00", "\x7f", "\ufeff", "\u200b",
                             "\u0130", "\ufffd", "é", "😀", "'", '"', "\\", "/", " "])
lone_surrogates = st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "\\ude00x", "\\ud83d\\ude00"])
text_piece = st.one_of(st.text(max_size=12), odd_chars, lone_surrogates.map(lambda s: "\x00" + s))


@st.composite
def json_strings(draw) -> str:
    """A JSON string literal, sometimes with escapes a plain json.dumps would not write."""
    pieces = draw(st.lists(text_piece, max_size=4))
    out = []
    for piece in pieces:
        out.append(piece[1:] if piece.startswith("\x00") else json.dumps(piece)[1:-1])
    return '"' + "".join(out) + '"'


def digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).flatmap(lambda n: st.sampled_from("123456789").map(lambda d: d + "7" * (n - 1)))


numbers = st.one_of(
    st.integers(-2**70, 2**70).map(str),
    st.sampled_from(["0", "-0", "0.0", "-0.0", "1e2", "1E+2", "0.0000001", "1.5", "97123.45000000", "1e400",
                     "-1e400", "1e-400", str(2**31), str(2**63), str(-2**63 - 1), str(2**63 - 1)]),
    digits(995, 1005),  # Jackson's 1000-digit limit
    st.tuples(digits(1, 600), digits(395, 600)).map(lambda p: f"{p[0]}.{p[1]}"),
    st.tuples(digits(1, 3), digits(990, 1002)).map(lambda p: f"{p[0]}e{p[1]}"),
)
scalars = st.one_of(json_strings(), numbers, st.sampled_from(["true", "false", "null"]))


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4).map(lambda v: "[" + ",".join(v) + "]"),
                               st.lists(st.tuples(st.text(max_size=6), children), max_size=4).map(obj)),
    max_leaves=12)
deep = st.tuples(st.integers(990, 1010), st.sampled_from(["", "1", '{"a":1}', "[]"])).map(lambda d: nested(*d))


# --- messages, whole or mutated ---------------------------------------------------------------
def field_values(name: str) -> st.SearchStrategy[str]:
    """Any JSON value for a field, weighted towards the plausible ones."""
    near = {"symbol": st.sampled_from(['"BTCUSDT"', '"ETHUSDT"', '"XRPUSDT"', '"btcusdt"', '"BTCUSDT\\r"',
                                       '"BTCUSDT\\u2028"', '"BTCUSDT\\n"', '"B"', '"' + "A" * 21 + '"']),
            "price": st.sampled_from(['"1"', '"0.00000001"', '"0"', '"1.123456789"', '"1e5"', '" 1"', '"1\\n"',
                                      '"1\\r"', '"-1"', '"' + "9" * 20 + '"', '"' + "9" * 21 + '"', '"NaN"']),
            "source": st.sampled_from(['"x"', '"a,b"', '"x\\r"', '"x\\u2028"', '"' + "s" * 33 + '"', '"true"']),
            "quantity": st.sampled_from(['"1"', '"0"', '"99999999999"', '"1e5"', '"0.5\\n"']),
            "schema_version": st.sampled_from(["0", "1", "2", "3", "-1", str(2**31), "1.0"]),
            "trade_id": st.sampled_from(["-1", "0", "7", str(2**63), "1.0"]),
            "event_time": st.sampled_from([str(NOW), str(NOW + SKEW_MS + 1), "-1", "0", str(2**63 - 1),
                                           str(-2**63), "32503680000000", "32503679999999", str(NOW) + ".0"]),
            "ingest_time": st.sampled_from([str(NOW), "-1", str(2**63 - 1), "32503680000000"])}
    return st.one_of(near.get(name, json_values), json_values, numbers, scalars)


@st.composite
def mutated_messages(draw) -> bytes:
    """A valid message (sample or trade) with some fields changed, dropped or repeated,
    whitespace and junk added, or cut short."""
    pairs = list({**VALID, **(TRADE if draw(st.booleans()) else {})}.items())
    if draw(st.booleans()):
        pairs[0] = ("schema_version", "2")
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(pairs) - 1))
        action = draw(st.sampled_from(["replace", "drop", "repeat", "rename"]))
        name = pairs[index][0]
        if action == "replace":
            pairs[index] = (name, draw(field_values(name)))
        elif action == "drop":
            pairs.pop(index)
        elif action == "repeat":
            pairs.insert(draw(st.integers(0, len(pairs))), (name, draw(field_values(name))))
        else:
            pairs[index] = (draw(st.sampled_from([name.upper(), name + " ", name[:-1], "x"])), pairs[index][1])
        if not pairs:
            break
    text = obj(pairs)
    text = draw(st.sampled_from(["", " ", "\n\t", "\ufeff", "\u2028"])) + text + draw(
        st.sampled_from(["", " junk", "}", "\x00", "[" * 1001]))
    raw = text.encode("utf-8", errors="surrogatepass")
    cut = draw(st.one_of(st.none(), st.integers(0, len(raw))))
    return raw if cut is None else raw[:cut]


def spelled(name: str, escaped: int | None, upper: bool, colon: str) -> str:
    """A name as raw JSON text: one letter as a \\u escape (or none), maybe in capitals, and the
    colon with whitespace around it (the Spark side reads a text field again only where its
    name and a value other than a string show in the text, or a \\u escape: parse.py)."""
    name = name.upper() if upper else name
    letters = [f"\\u{ord(c):04{'X' if i % 2 else 'x'}}" if i == escaped else c for i, c in enumerate(name)]
    return '"' + "".join(letters) + '"' + colon


odd_names = st.tuples(st.sampled_from(["symbol", "price", "source", "quantity", "event_time"]),
                      st.one_of(st.none(), st.integers(0, 3)), st.booleans(),
                      st.sampled_from([":", " :", ": ", "\t:\n", "\r\n:\r\n"]),
                      st.one_of(numbers, scalars, json_values)).map(
    lambda f: ("{" + ",".join([*(f"{json.dumps(n)}:{v}" for n, v in VALID.items() if n != f[0]),
                               spelled(*f[:4]) + f[4]]) + "}").encode())
wide_objects = st.tuples(st.integers(0, 400), st.one_of(scalars, json_values)).map(
    lambda t: obj([*VALID.items(), *((f"k{i}", t[1]) for i in range(t[0]))]).encode())
repeated_names = st.lists(st.tuples(st.sampled_from([*VALID, "trade_id", "quantity", "x"]), scalars),
                          min_size=1, max_size=12).map(lambda pairs: obj(pairs).encode())
non_objects = st.one_of(json_values, deep, numbers, scalars).flatmap(
    lambda v: st.sampled_from(["", " ", "\n"]).flatmap(
        lambda lead: st.sampled_from(["", " ", "x", ",", "]", "\u00a0", "\u200b", "_", "1"]).map(
            lambda tail: (lead + v + tail).encode("utf-8", errors="surrogatepass"))))
objects_of_values = st.tuples(st.sampled_from([*VALID, "trade_id", "quantity"]), st.one_of(json_values, deep)).map(
    lambda f: obj([*VALID.items(), f]).encode())
sizes = st.integers(MAX_MESSAGE_BYTES - 300, MAX_MESSAGE_BYTES + 300).map(
    lambda n: obj([*VALID.items(), ("pad", '"' + "p" * max(n - 210, 0) + '"')]).encode()[:n])

EDGE_CASES = [b"[" * 100_000, b"{" * 100_000, b'{"a":' * 50_000, b"1" * 5_000, b"[" + b"1" * 1001 + b"]",
              b"01", b"1.", b"1x", b"truex", b"true:", b"nullx", b"true\xc2\xa0", b"true\xe2\x80\x8b", b"\xef\xbb\xbf{}",
              b"{'symbol': 'BTCUSDT'}", b'{"event_time":"x","event_time":5}', b'{"p":"\\ud800","p":[{"a":1,"a":2}]}',
              b'["\\ud800"]', b'[{"a":1,"a":2}]', b"\xed\xa0\x80", b"\xff" * 20, b"   ", b"x" * 1_000_000,
              # one of each outcome the run must cover, whatever Hypothesis draws
              obj(VALID.items()).encode(), obj({**VALID, "event_time": "-1"}.items()).encode(),
              obj({**VALID, "ingest_time": str(2**63 - 1)}.items()).encode(),
              obj({**VALID, "symbol": '"btc"'}.items()).encode(), obj({**VALID, "price": '"x"'}.items()).encode(),
              obj({**VALID, "price": "1.5"}.items()).encode(), obj({**VALID, "price": "null"}.items()).encode()]

GROUPS: list[tuple[str, st.SearchStrategy[bytes], int]] = [
    ("bytes", st.binary(max_size=300), 600),
    ("mutated messages", mutated_messages(), 1500),
    ("non-objects", non_objects, 500),
    ("objects with any value", objects_of_values, 400),
    ("repeated names", repeated_names, 300),
    ("text fields spelled oddly", odd_names, 300),
    ("wide objects", wide_objects, 150),
    ("sizes around the limit", sizes, 60),
]


def collect(strategy: st.SearchStrategy[bytes], examples: int, seen: list[bytes]) -> None:
    """Runs Hypothesis over `strategy`; each value must get a reason (or None) from the Python
    rules without raising, and is kept for the Spark side."""
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def python_rules_never_raise(value: bytes) -> None:
        assert python_reason(value) in {None, *vars(Reason).values()}
        seen.append(value)
    python_rules_never_raise()


def python_reason(value: bytes) -> str | None:
    return problem(value, SYMBOLS, SKEW_MS, NOW)


def spark_reasons(spark, values: list[bytes], summary: str) -> list[str | None]:
    """Every value classified in one DataFrame: one Spark job for the whole run, by Spark SQL
    expressions (classify.py) or by the processor's Java (jvm_pass.py)."""
    frame = kafka_frame(spark, values)
    if summary == "sql":
        rows = classify.classify(frame, rules()).select("offset", "reason").collect()
    else:
        rows = jvm_pass.reasons(frame, rules()).collect()
    by_offset = {row["offset"]: row["reason"] for row in rows}
    return [by_offset[i] for i in range(len(values))]


def disagreements(values: list[bytes], spark_side: list[str | None],
                  python_side: Callable[[bytes], str | None]) -> list[str]:
    return [f"{value[:120]!r}... ({len(value)} bytes): python {python_side(value)}, spark {reason}"
            for value, reason in zip(values, spark_side) if python_side(value) != reason]


@pytest.fixture(scope="module")
def generated() -> list[bytes]:
    """The edge cases and every group's examples, each checked by the Python rules on the way."""
    seen: list[bytes] = list(EDGE_CASES)
    for _, strategy, examples in GROUPS:
        collect(strategy, examples, seen)
    assert len(seen) >= 3000
    return seen


@pytest.mark.parametrize("summary", ["sql", "jvm"])
def test_python_and_spark_rules_agree_on_generated_input(spark, generated, summary) -> None:
    """Thousands of generated byte strings and JSON texts get identical reasons from the Python
    rules and from the processor's (either way it may run: processor.summary), and the Python
    rules never raise."""
    seen = generated
    reasons = spark_reasons(spark, seen, summary)
    mismatches = disagreements(seen, reasons, python_reason)
    assert not mismatches, f"{len(mismatches)} of {len(seen)} disagree:\n" + "\n".join(mismatches[:40])
    # the run covered the interesting outcomes, not only "not_json"
    assert {Reason.NOT_JSON, Reason.WRONG_SHAPE, Reason.WRONG_TYPE, Reason.MISSING_FIELD, Reason.TOO_LARGE,
            Reason.BAD_TIME, Reason.BAD_PRICE, Reason.BAD_SYMBOL, None} <= set(reasons)


def test_deep_nesting_and_huge_numbers_do_not_raise() -> None:
    """The issue's reproduction and its relatives: a reason, never RecursionError or ValueError."""
    assert problem(b"[" * 100_000, SYMBOLS, SKEW_MS, NOW) == Reason.TOO_LARGE
    assert problem(b"[" * 3_000, SYMBOLS, SKEW_MS, NOW) == Reason.NOT_JSON
    assert problem(b"[" * 1000 + b"]" * 1000, SYMBOLS, SKEW_MS, NOW) == Reason.WRONG_SHAPE
    assert problem(b"[" * 1001 + b"]" * 1001, SYMBOLS, SKEW_MS, NOW) == Reason.NOT_JSON
    assert problem(b'{"x":' + b"1" * 1001 + b"}", SYMBOLS, SKEW_MS, NOW) == Reason.NOT_JSON
    valid_but_deep = obj([*VALID.items(), ("x", nested(999))]).encode()
    assert problem(valid_but_deep, SYMBOLS, SKEW_MS, NOW) is None
