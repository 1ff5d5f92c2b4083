"""Chunk parsers: values bit-identical to numpy.float32(float(field)), fast and exact paths alike."""

from __future__ import annotations

import random
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from hubpub.recipes import embedding_file
from hubpub.recipes.embedding_file import read_embedding_file
from hubpub.recipes.embedding_lines import Layout, detect_layout, parse_exactly, parse_fast

DIM = 8


def awkward_numbers(count: int, seed: int = 0) -> list[str]:
    """Fields that are hard to round: long mantissas, far exponents, float32 midpoints.

    A decimal just past the midpoint of two float32s rounds to that midpoint in float64, then
    to even in float32; rounding the decimal straight to float32 goes the other way. Such
    fields tell a double-rounding parser (the reference) from a direct one.
    """
    rng = random.Random(seed)
    fields = ["-0", "-0.0", "0e0", "+1.5", "1.", ".5", "1E5", "1e+05", "-1e-05", "1_000",
              "1e-40", "-1e-45", "1.4e-45", "7e-46", "7.006e-46", "1.1754942e-38",
              "1.17549435e-38", "3.4028235e38", "-3.4028234e38", "2.2250738585072014e-308",
              "4.9e-324", "1e-400", "0.1000000000000000055511151231257827021181583404541015625",
              "123456789012345678901234567890", "0.000000000000000000000000000000000001"]
    while len(fields) < count:
        kind = rng.random()
        if kind < 0.5:  # random digits, random point, maybe an exponent
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
            point = rng.randint(0, len(digits))
            text = rng.choice(["", "-"]) + digits[:point] + "." + digits[point:]
            if rng.random() < 0.6:
                text += rng.choice("eE") + str(rng.randint(-44, 37))
            fields.append(text)
        else:  # float32 midpoints, and just beside them
            low = np.float32(rng.uniform(-1000, 1000) * 10.0 ** rng.randint(-30, 30))
            high = np.nextafter(low, np.float32(np.inf))
            middle = Decimal(float(low)) / 2 + Decimal(float(high)) / 2
            fields += [str(middle), str(middle + Decimal("1e-60")),
                       str(middle) + "00000000000000000001", str(middle - Decimal("1e-60"))]
    return fields[:count]


def reference(fields: list[str]) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.array([np.float32(float(f)) for f in fields], np.float32)


def as_chunk(fields: list[str], dim: int = DIM) -> bytes:
    rows = [fields[i:i + dim] for i in range(0, len(fields), dim)]
    return "".join(f"t{i} {' '.join(row)}\n" for i, row in enumerate(rows)).encode()


def test_awkward_numbers_are_hard():
    """The set holds fields where rounding straight to float32 differs from the reference."""
    fields = [f for f in awkward_numbers(4000) if "_" not in f]
    direct = pa.array(fields).cast(pa.float32(), safe=False).to_numpy(zero_copy_only=False)
    finite = np.isfinite(reference(fields))
    assert (direct.view(np.uint32) != reference(fields).view(np.uint32))[finite].sum() > 50


@pytest.mark.parametrize("parser", ["fast", "exact"])
def test_values_are_bit_identical_to_float32_of_float(parser):
    fields = [f for f in awkward_numbers(40_000) if np.isfinite(reference([f]))[0]]
    if parser == "fast":  # "1_000" is Python-only syntax: its chunk goes the exact way
        fields = [f for f in fields if "_" not in f]
    fields = fields[:len(fields) // DIM * DIM]
    if parser == "fast":
        block = parse_fast(as_chunk(fields), Layout(DIM))
        assert block is not None
    else:
        block, problem = parse_exactly(as_chunk(fields), DIM)
        assert problem is None
    expected = reference(fields)
    assert block.values.dtype == np.float32
    np.testing.assert_array_equal(block.values.reshape(-1).view(np.uint32),
                                  expected.view(np.uint32))


def test_whole_reader_is_bit_identical_on_both_paths(tmp_path, monkeypatch):
    """Small chunks and two threads: chunks with '1_000' go the exact way, the rest fast."""
    monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 2048)
    fields = [f for f in awkward_numbers(20_000, seed=3) if np.isfinite(reference([f]))[0]]
    fields = fields[:len(fields) // DIM * DIM]
    path = tmp_path / "emb.txt"
    path.write_bytes(as_chunk(fields))
    emb = read_embedding_file(path, threads=2)
    assert emb.tokens == [f"t{i}" for i in range(len(fields) // DIM)]
    np.testing.assert_array_equal(emb.matrix.reshape(-1).view(np.uint32),
                                  reference(fields).view(np.uint32))


def test_negative_zero_keeps_its_sign():
    block = parse_fast(b"a -0 0 -0.0 0.0 -0e5 1 2 3\n", Layout(DIM))
    assert block is not None
    assert list(np.signbit(block.values[0])) == [True, False, True, False, True, False, False,
                                                 False]


@pytest.mark.parametrize(("chunk", "tokens"), [
    (b"a 1 2\n. . . 3 4\nb 5 6\n", ["a", ". . .", "b"]),
    (b"a 1 2\n\n   \nb\t3  4 \nc 5 6\n", ["a", "b", "c"]),
    (b"\n\na 1 2\r\n\r\nb 3 4\r\n", ["a", "b"]),
    (b"a 1 2\nx y\tz 3 4\n", ["a", "x y\tz"]),
])
def test_fast_path_takes_odd_lines_back_in_place(chunk, tokens):
    block = parse_fast(chunk, Layout(2))
    exact, problem = parse_exactly(chunk, 2)
    assert block is not None and problem is None
    assert block.tokens == exact.tokens == tokens
    assert block.skipped == exact.skipped
    assert block.lines == exact.lines == chunk.count(b"\n")
    np.testing.assert_array_equal(block.values, exact.values)


@pytest.mark.parametrize("chunk", [
    b"a 1 2\nb 1 x\n", b"a 1 2\nb 1 nan\n", b"a 1 2\nb 1 1e39\n", b"a 1 2\n 1 2\n",
    b"a 1 2\n\xff 1 2\n", b"a 1 2\nb 1\n", b"a 1 2\rb 1 2\n", b"a 1 2\nb 1 1_0\n",
], ids=["word", "nan", "float32-overflow", "empty-token", "not-utf8", "short", "lone-cr",
        "underscore"])
def test_fast_path_leaves_doubtful_chunks_to_the_exact_path(chunk):
    assert parse_fast(chunk, Layout(2)) is None


@pytest.mark.parametrize(("line", "layout"), [
    (b"a 1 2", Layout(2, " ", False)),
    (b"a 1 2 ", Layout(2, " ", True)),
    (b"a 1 2 \r", Layout(2, " ", True)),
    (b"a\t1\t2", Layout(2, "\t", False)),
    (b"a\t1\t2\t\r", Layout(2, "\t", True)),
])
def test_layout_of_the_first_line(line, layout):
    assert detect_layout(line, 2) == layout
    chunk = line + b"\n" + line.replace(b"a", b"b", 1) + b"\n"
    block = parse_fast(chunk, layout)
    assert block is not None and block.tokens == ["a", "b"]


@pytest.mark.parametrize(("chunk", "layout"), [
    (b"a 1 2\n\tb 1 2\n", Layout(2)),
    (b"a\t1\t2\n b\t1\t2\n", Layout(2, "\t")),
    (b"a\t1\t2\nb \t1\t2\n", Layout(2, "\t")),
    (b"a 1 2 \nb 1 2 x\n", Layout(2, " ", True)),
], ids=["tab-before-token", "space-before-token", "space-after-token", "text-after-vector"])
def test_fast_path_never_differs_from_the_exact_one(chunk, layout):
    block = parse_fast(chunk, layout)
    exact, problem = parse_exactly(chunk, 2)
    if block is not None:
        assert problem is None and block.tokens == exact.tokens
    else:
        assert problem is not None or exact.tokens == ["a", "b"]


@pytest.mark.parametrize("token", ['"quoted"', "a,b", "#tag", "\u00a0", "x\u00a0y", "'", "\\n",
                                   "a\x0bb"],
                         ids=["quotes", "comma", "hash", "nbsp", "inner-nbsp", "apostrophe",
                              "backslash", "vertical-tab"])
def test_tokens_arrow_might_treat_specially_stay_as_they_are(token):
    chunk = f"a 1 2\n{token} 3 4\n".encode()
    block = parse_fast(chunk, Layout(2))
    exact, problem = parse_exactly(chunk, 2)
    assert problem is None and exact.tokens == ["a", token]
    assert block is not None and block.tokens == exact.tokens
    np.testing.assert_array_equal(block.values, exact.values)
