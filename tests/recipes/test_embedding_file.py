"""The streaming embedding-file reader: values, layout variants, and every malformed line."""

from __future__ import annotations

import mmap
import time
from pathlib import Path

import numpy as np
import pytest

from hubpub.errors import EmbeddingFileError, WeightsError
from hubpub.recipes import embedding_file
from hubpub.recipes.embedding_file import read_embedding_file

TOKENS = ["the", "naïve", "東京", "🙂", "#hashtag", "can't", "ß", "x"]


def write_embeddings(path: Path, rows: int, dim: int, *, seed: int = 0, tokens=None,
                     header: bool = False, newline: str = "\n", final_newline: bool = True,
                     fmt: str = "%.6g") -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    matrix = (rng.standard_normal((rows, dim)) * 10.0 ** rng.integers(-3, 3, (rows, 1)))
    tokens = list(tokens or [f"w{i}" for i in range(rows)])[:rows]
    lines = [f"{len(tokens)} {dim}"] if header else []
    lines += [t + " " + " ".join(fmt % v for v in row) for t, row in zip(tokens, matrix, strict=True)]
    text = newline.join(lines) + (newline if final_newline else "")
    path.write_bytes(text.encode("utf-8"))
    return tokens, matrix


def loadtxt_reference(path: Path, dim: int, skiprows: int = 0) -> np.ndarray:
    return np.loadtxt(path, dtype=np.float32, usecols=range(1, dim + 1), comments=None,
                      skiprows=skiprows, encoding="utf-8", ndmin=2)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 64 bytes, so that short files cross many chunk boundaries."""
    monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 64)


@pytest.mark.parametrize("chunked", [False, True], ids=["one-chunk", "64-byte-chunks"])
@pytest.mark.parametrize(("newline", "final_newline"),
                         [("\n", True), ("\n", False), ("\r\n", True), ("\r\n", False)],
                         ids=["lf", "lf-no-final", "crlf", "crlf-no-final"])
def test_values_equal_loadtxt(tmp_path, monkeypatch, chunked, newline, final_newline):
    if chunked:
        monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 64)
    path = tmp_path / "emb.txt"
    tokens, _ = write_embeddings(path, 40, 7, newline=newline, final_newline=final_newline)
    emb = read_embedding_file(path)
    assert emb.tokens == tokens
    assert emb.matrix.dtype == np.float32
    assert emb.matrix.shape == (40, 7)
    np.testing.assert_array_equal(emb.matrix, loadtxt_reference(path, 7))


def test_unicode_tokens(tmp_path):
    path = tmp_path / "emb.txt"
    write_embeddings(path, len(TOKENS), 3, tokens=TOKENS)
    emb = read_embedding_file(path)
    assert emb.tokens == TOKENS
    np.testing.assert_array_equal(emb.matrix, loadtxt_reference(path, 3))


def test_word2vec_header_is_skipped(tmp_path, small_chunks):
    path = tmp_path / "emb.txt"
    tokens, _ = write_embeddings(path, 12, 5, header=True)
    emb = read_embedding_file(path)
    assert emb.tokens == tokens
    np.testing.assert_array_equal(emb.matrix, loadtxt_reference(path, 5, skiprows=1))


def test_header_that_disagrees_with_the_file_is_reported(tmp_path):
    path = tmp_path / "emb.txt"
    write_embeddings(path, 5, 3, header=True)
    path.write_bytes(b"6 3\n" + path.read_bytes().split(b"\n", 1)[1])
    with pytest.raises(EmbeddingFileError, match=r"emb\.txt:1: the header announces 6 tokens "
                                                 r"but the file holds 5"):
        read_embedding_file(path)


def test_header_dimension_is_enforced(tmp_path):
    path = tmp_path / "emb.txt"
    path.write_text("2 3\na 1 2 3\nb 1 2\n")
    with pytest.raises(EmbeddingFileError, match=r"emb\.txt:3: expected 3 numbers, found 2"):
        read_embedding_file(path)


def test_irregular_whitespace_and_blank_lines(tmp_path, small_chunks):
    path = tmp_path / "emb.txt"
    path.write_text("\n\na\t1  2 3 \nb 4 5 6\n\n   \nc 7\t8 9\n\n")
    emb = read_embedding_file(path)
    assert emb.tokens == ["a", "b", "c"]
    np.testing.assert_array_equal(emb.matrix, np.arange(1, 10, dtype=np.float32).reshape(3, 3))


def test_number_forms(tmp_path):
    path = tmp_path / "emb.txt"
    path.write_text("a 1e-3 -.5 +2 7.\nb 0 -0 1E2 3.25\n")
    emb = read_embedding_file(path)
    np.testing.assert_array_equal(
        emb.matrix, np.array([[1e-3, -0.5, 2, 7], [0, 0, 100, 3.25]], dtype=np.float32))


def test_spare_rows_are_zero_and_padding_does_not_copy(tmp_path):
    path = tmp_path / "emb.txt"
    write_embeddings(path, 10, 4)
    emb = read_embedding_file(path, spare_rows=2)
    padded = emb.padded(2)
    assert padded.shape == (12, 4)
    assert np.shares_memory(padded, emb.matrix)
    np.testing.assert_array_equal(padded[:10], emb.matrix)
    assert not padded[10:].any()
    more = emb.padded(3)  # more than reserved: one copy
    assert more.shape == (13, 4) and not np.shares_memory(more, emb.matrix)
    assert not more[10:].any()
    np.testing.assert_array_equal(more[:10], emb.matrix)


def test_progress_reports_every_byte(tmp_path, small_chunks):
    path = tmp_path / "emb.txt"
    write_embeddings(path, 20, 4)
    calls = []
    read_embedding_file(path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert len(calls) > 1
    assert calls[-1] == (size, size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


GOOD = "a 1 2 3\nb 4 5 6\n"


@pytest.mark.parametrize(("text", "line", "message"), [
    (GOOD + "c 1 2\n", 3, "expected 3 numbers, found 2"),
    (GOOD + "c\n", 3, "expected 3 numbers, found 0"),
    ("c\n" + GOOD, 1, "a token without numbers"),
    (GOOD + "c 1 x 3\n", 3, "'x' is not a number (value 2 of 3)"),
    (GOOD + "c 1 2 3,5\n", 3, "'3,5' is not a number (value 3 of 3)"),
    (GOOD + "c 1 nan 3\n", 3, "value 2 of 3 is 'nan'; embedding values must be finite"),
    (GOOD + "c 1 2 -inf\n", 3, "value 3 of 3 is '-inf'"),
    (GOOD + "c 1 2 1e999\n", 3, "value 3 of 3 is '1e999'"),
    (GOOD + " 1 2 3\n", 3, "its token is empty"),
    (" a 1 2 3\n", 1, "its token is empty"),
    (GOOD + "\n\nc 1 2 3\na 7 8 9\n", 6, "duplicate token 'a' (first on line 1)"),
    ("\n2 3\n" + GOOD + "b 7 8 9\n", 5, "duplicate token 'b' (first on line 4)"),
    (GOOD + "c 1 2 3\nc 7 8 9\n", 4, "duplicate token 'c' (first on line 3)"),
    (GOOD + "c 1 x 3\nd\n", 3, "'x' is not a number"),
    (GOOD + "c 1 2\na 1 2 3\n", 3, "expected 3 numbers, found 2"),
    (GOOD + "c 1 2 3\n\n\xff 1\n", 5, "expected 3 numbers, found 1"),
], ids=["too-few", "token-only", "token-only-first", "word", "comma", "nan",
        "inf", "overflow", "empty-token", "empty-token-first", "duplicate", "duplicate-header",
        "duplicate-adjacent", "first-error-wins", "first-error-wins-2", "not-utf8-token"])
@pytest.mark.parametrize("chunked", [False, True], ids=["one-chunk", "64-byte-chunks"])
def test_malformed_line_is_reported_with_its_number(tmp_path, monkeypatch, text, line, message,
                                                    chunked):
    if chunked:
        monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 64)
    path = tmp_path / "emb.txt"
    path.write_text(text + "".join(f"z{i} 0 0 0\n" for i in range(30)), encoding="utf-8")
    with pytest.raises(EmbeddingFileError) as caught:
        read_embedding_file(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, WeightsError) and isinstance(caught.value, ValueError)


def test_error_far_into_a_big_chunked_file_has_the_right_line(tmp_path, monkeypatch):
    monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 4096)
    path = tmp_path / "emb.txt"
    write_embeddings(path, 500, 16)
    lines = path.read_bytes().split(b"\n")
    lines[416] = lines[416].rsplit(b" ", 1)[0]  # line 417 loses its last number
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(EmbeddingFileError, match=r"emb\.txt:417: expected 16 numbers, found 15$"):
        read_embedding_file(path)


def test_token_that_is_not_utf8(tmp_path):
    path = tmp_path / "emb.txt"
    path.write_bytes(GOOD.encode() + b"caf\xe9 1 2 3\n")
    with pytest.raises(EmbeddingFileError, match=r"emb\.txt:3: the token b'caf\\xe9' is not "
                                                 r"valid UTF-8"):
        read_embedding_file(path)


def test_short_line_with_bytes_that_are_not_utf8_is_reported_quietly(tmp_path, monkeypatch):
    """Arrow's hook for odd rows cannot decode such a line; it must never reach it (it would
    print an "Exception ignored" traceback)."""
    unraisable = []
    monkeypatch.setattr("sys.unraisablehook", unraisable.append)
    path = tmp_path / "emb.txt"
    path.write_bytes(GOOD.encode() + b"dog 1\xff 2\n")
    with pytest.raises(EmbeddingFileError, match=r"emb\.txt:3: expected 3 numbers, found 2$"):
        read_embedding_file(path)
    assert unraisable == []


@pytest.mark.parametrize("text", ["", "\n\n  \n"], ids=["empty", "blank"])
def test_file_without_embeddings(tmp_path, text):
    path = tmp_path / "emb.txt"
    path.write_text(text)
    with pytest.raises(EmbeddingFileError, match=r"emb\.txt: the file holds no embeddings"):
        read_embedding_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(EmbeddingFileError, match=r"missing\.txt: cannot read the embedding "
                                                 r"file: No such file"):
        read_embedding_file(tmp_path / "missing.txt")


def test_parse_speed_is_reported(tmp_path, capsys):
    """Prints the parse rate once (a figure to read, not an assertion: the machine is shared)."""
    path = tmp_path / "emb.txt"
    rng = np.random.default_rng(1)
    block = rng.standard_normal((2000, 300)).astype(np.float32)
    with path.open("w") as f:
        for i in range(4):  # 8,000 x 300, about 23 MB
            np.savetxt(f, block + i, fmt="%.6f", delimiter=" ",
                       header="", comments="", newline="\n")
    text = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(b"w%d %s" % (i, line) for i, line in enumerate(text[:-1]))
                     + b"\n")
    start = time.perf_counter()
    emb = read_embedding_file(path)
    seconds = time.perf_counter() - start
    assert emb.matrix.shape == (8000, 300)
    np.testing.assert_allclose(emb.matrix[:2000], block, atol=1e-6)
    with capsys.disabled():
        print(f"\n  read_embedding_file: {path.stat().st_size / 1e6:.1f} MB in {seconds:.2f} s "
              f"= {path.stat().st_size / 1e6 / seconds:.0f} MB/s")


# --- real formats -----------------------------------------------------------------------------

FASTTEXT = "3 2\n, 0.1 0.2 \nthe -0.3 0.4 \n. 5e-1 6 \n"  # fastText .vec: header, trailing space


@pytest.mark.parametrize(("text", "tokens"), [
    (FASTTEXT, [",", "the", "."]),
    (FASTTEXT.replace("\n", "\r\n"), [",", "the", "."]),
    ("\ufeff" + FASTTEXT, [",", "the", "."]),
    ("\ufeffa 0.1 0.2\nb -0.3 0.4\nc 5e-1 6\n", ["a", "b", "c"]),
    ("a 0.1 0.2\n. . . -0.3 0.4\nat&t 5e-1 6\n", ["a", ". . .", "at&t"]),
    ("a\t0.1\t0.2\nb\t-0.3\t0.4\nc d\t5e-1\t6\n", ["a", "b", "c d"]),
    ("a 0.1 0.2\t\r\nb  -0.3\t0.4   \n\n\tc 5e-1 6\n", None),
], ids=["fasttext", "fasttext-crlf", "bom-header", "bom", "tokens-with-spaces", "tabs",
        "mixed-whitespace"])
@pytest.mark.parametrize("chunked", [False, True], ids=["one-chunk", "64-byte-chunks"])
def test_real_formats(tmp_path, monkeypatch, text, tokens, chunked):
    if chunked:
        monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 64)
    path = tmp_path / "emb.vec"
    path.write_text(text, encoding="utf-8", newline="")
    if tokens is None:  # a line starting with a tab has an empty token
        with pytest.raises(EmbeddingFileError, match=r"emb\.vec:4: the line starts with "):
            read_embedding_file(path)
        return
    emb = read_embedding_file(path)
    assert emb.tokens == tokens
    np.testing.assert_array_equal(
        emb.matrix, np.array([[0.1, 0.2], [-0.3, 0.4], [0.5, 6]], np.float32))


def test_header_dimension_must_match_the_first_line(tmp_path):
    path = tmp_path / "emb.txt"
    path.write_text("2 2\na 1 2 3\nb 4 5 6\n")
    with pytest.raises(EmbeddingFileError, match=r"emb\.txt:2: the header on line 1 announces "
                                                 r"dimension 2, but this line has 3 numbers"):
        read_embedding_file(path)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_and_chunk_sizes_give_the_same_result(tmp_path, monkeypatch, threads):
    path = tmp_path / "emb.txt"
    tokens, _ = write_embeddings(path, 300, 6, fmt="%.9g")
    lines = path.read_bytes().split(b"\n")
    lines[7] = b"a b c " + lines[7]  # a token with spaces
    lines[100] = lines[100].replace(b" ", b"\t")
    lines[200:200] = [b"", b"  "]
    path.write_bytes(b"\n".join(lines))
    tokens[7] = "a b c " + tokens[7]
    whole = read_embedding_file(path, threads=1)
    monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 1000)
    chunked = read_embedding_file(path, threads=threads)
    assert whole.tokens == chunked.tokens == tokens
    np.testing.assert_array_equal(whole.matrix.view(np.uint32), chunked.matrix.view(np.uint32))


def test_matrix_grows_when_the_first_lines_are_long(tmp_path, monkeypatch):
    """Rows are estimated from the first chunk; many short lines after long ones grow it."""
    monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 256)
    path = tmp_path / "emb.txt"
    long = "".join(f"{'x' * 200}{i} 1 2\n" for i in range(3))
    path.write_text(long + "".join(f"w{i} {i} -{i}\n" for i in range(2000)))
    emb = read_embedding_file(path, spare_rows=2)
    assert len(emb.tokens) == emb.matrix.shape[0] == 2003
    np.testing.assert_array_equal(emb.matrix[-1], [1999, -1999])
    assert not emb.padded(2)[-2:].any()


# --- options ----------------------------------------------------------------------------------

DUPLICATED = "a 1 1\nb 2 2\na 3 3\nc 4 4\nb 5 5\na 6 6\n"


@pytest.mark.parametrize(("policy", "tokens", "firsts"), [
    ("first", ["a", "b", "c"], [1, 2, 4]),
    ("last", ["c", "b", "a"], [4, 5, 6]),
])
@pytest.mark.parametrize("chunked", [False, True], ids=["one-chunk", "64-byte-chunks"])
def test_duplicates_first_or_last(tmp_path, monkeypatch, policy, tokens, firsts, chunked):
    if chunked:
        monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 64)
    path = tmp_path / "emb.txt"
    path.write_text(DUPLICATED + "".join(f"z{i} 0 0\n" for i in range(40)))
    emb = read_embedding_file(path, duplicates=policy, spare_rows=1)
    assert emb.tokens[:3] == tokens and len(emb.tokens) == 43
    np.testing.assert_array_equal(emb.matrix[:3, 0], firsts)
    assert not emb.matrix[3:].any() and not emb.padded(1)[-1].any()


def test_duplicates_error_names_both_lines(tmp_path):
    path = tmp_path / "emb.txt"
    path.write_text(DUPLICATED)
    with pytest.raises(EmbeddingFileError, match=r"emb\.txt:3: duplicate token 'a' \(first on "
                                                 r"line 1\).*set the recipe's 'duplicates'"):
        read_embedding_file(path)


def test_duplicates_policy_is_checked(tmp_path):
    with pytest.raises(ValueError, match="duplicates must be one of"):
        read_embedding_file(tmp_path / "emb.txt", duplicates="keep")


@pytest.mark.parametrize("chunked", [False, True], ids=["one-chunk", "64-byte-chunks"])
def test_max_tokens_reads_the_first_lines_only(tmp_path, monkeypatch, chunked):
    if chunked:
        monkeypatch.setattr(embedding_file, "CHUNK_BYTES", 64)
    path = tmp_path / "emb.txt"
    # a header of 50, a bad line and a duplicate after the kept ones: never read
    path.write_text("50 2\n\n" + "".join(f"w{i} {i} 0\n" for i in range(30)) + "w0 x\n")
    emb = read_embedding_file(path, max_tokens=20, spare_rows=1)
    assert emb.tokens == [f"w{i}" for i in range(20)]
    np.testing.assert_array_equal(emb.matrix[:, 0], np.arange(20))
    assert emb.padded(1).shape == (21, 2) and not emb.padded(1)[-1].any()


def test_max_tokens_larger_than_the_file(tmp_path):
    path = tmp_path / "emb.txt"
    path.write_text(GOOD)
    assert read_embedding_file(path, max_tokens=10).tokens == ["a", "b"]


# --- the matrix's memory ----------------------------------------------------------------------

def test_matrix_is_aligned_for_tensorflow(tmp_path):
    """TensorFlow copies a fed array unless it is 64-byte aligned; the reader's is."""
    path = tmp_path / "emb.txt"
    write_embeddings(path, 30, 5)
    emb = read_embedding_file(path, spare_rows=1)
    assert emb.padded(1).ctypes.data % 64 == 0 and emb.matrix.flags.c_contiguous


class _NoRemap(mmap.mmap):
    def resize(self, size: int) -> None:
        raise SystemError("mremap not available")


@pytest.mark.parametrize("rows", [2, 50])
def test_aligned_rows_resize_without_mremap(rows):
    matrix = embedding_file._AlignedRows(10, 3)
    matrix.array[:] = np.arange(30).reshape(10, 3)
    expected = matrix.array[:min(rows, 10)].copy()
    matrix._memory = _NoRemap(-1, len(matrix._memory), flags=mmap.MAP_PRIVATE)
    matrix.array = np.frombuffer(matrix._memory, np.float32, 30).reshape(10, 3)
    matrix.array[:] = np.arange(30).reshape(10, 3)
    matrix.resize(rows)
    assert matrix.array.shape == (rows, 3) and matrix.array.ctypes.data % 64 == 0
    np.testing.assert_array_equal(matrix.array[:min(rows, 10)], expected)
