"""Hostile and broken files end in DatasetRejectedError with a reason a person can act on."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest
from lockgate.errors import DatasetRejectedError
from lockgate.ml.tabular import read_table


def read(data: bytes, fmt: str = "csv", *, max_rows: int = 1000, max_bytes: int = 1_000_000) -> pd.DataFrame:
    return read_table(data, fmt, max_rows=max_rows, max_decompressed_bytes=max_bytes)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"age,income\n", "header but no data rows"),
        (b"age;income\n1;2\n", "';'-delimited; use commas"),
        (b"age\tincome\n1\t2\n", "tab-delimited; use commas"),
        (b"name,city\nJos\xe9,Paris\n", "not UTF-8 (byte 0xe9 on line 2)"),
        (b"\xff\xfea\x00,\x00b\x00", "UTF-16"),
        (b"a,b\n1,2\n3\n4,5\n", "line 3 has 1 fields but the header has 2"),
        (b"a,b\n1,2\n3,4,5\n", "line 3 has 3 fields but the header has 2"),
        (b"a,b\n1,inf\n2,3\n", "column 'b' has 1 infinite value"),
        (b"a,b\n1,-Infinity\n2,3\n", "infinite"),
        (b"a,,c\n1,2,3\n", "no name"),
        (b"\x1f\x8b\x08garbage", "gzip file is corrupt"),
        (b"PAR1 not really parquet PAR1", "Parquet file cannot be read"),
    ],
)
def test_broken_csv_is_rejected_with_a_reason(data: bytes, reason: str) -> None:
    # GIVEN a broken upload / WHEN it is read / THEN the rejection names the problem
    with pytest.raises(DatasetRejectedError) as err:
        read(data)
    assert reason in err.value.message
    assert err.value.details["reasons"] == [err.value.message]


def test_utf8_bom_is_stripped_and_the_first_column_keeps_its_name() -> None:
    frame = read(b"\xef\xbb\xbfage,income\n30,1000\n")
    assert list(frame.columns) == ["age", "income"]


def test_nan_strings_and_empty_cells_are_missing_values() -> None:
    frame = read(b"x,y\n1,nan\n2,NaN\n3,\n4,5.5\n")
    assert frame["y"].isna().sum() == 3
    assert frame["y"].dtype == np.float64


def test_quoted_commas_and_newlines_are_not_ragged() -> None:
    frame = read(b'a,b\r\n1,"x, y\r\nz"\r\n2,"say ""hi"", ok"\r\n\r\n')
    assert frame.shape == (2, 2)


def test_gzip_bomb_is_refused_without_expanding_it() -> None:
    bomb = gzip.compress(b"a,b\n" + b"0,0\n" * 2_000_000)  # 8 MB of text in a few KB
    with pytest.raises(DatasetRejectedError, match="decompresses to more than 100,000 bytes"):
        read(bomb, "csv.gz", max_bytes=100_000)


def test_gzip_is_detected_by_magic_bytes_even_when_named_csv() -> None:
    frame = read(gzip.compress(b"a,b\n1,x\n2,y\n"), "csv")
    assert frame.shape == (2, 2)


def test_truncated_gzip_is_refused() -> None:
    with pytest.raises(DatasetRejectedError, match="truncated"):
        read(gzip.compress(b"a,b\n1,2\n" * 100)[:-10])


def test_row_cap_applies_to_csv_and_parquet() -> None:
    csv = b"a\n" + b"1\n" * 20
    with pytest.raises(DatasetRejectedError, match="more than 10 rows"):
        read(csv, max_rows=10)
    buf = io.BytesIO()
    pd.DataFrame({"a": range(20)}).to_parquet(buf)
    with pytest.raises(DatasetRejectedError, match="more than the 10-row limit"):
        read(buf.getvalue(), "parquet", max_rows=10)


def test_parquet_round_trips() -> None:
    buf = io.BytesIO()
    pd.DataFrame({"a": [1.5, 2.5], "b": ["x", "y"]}).to_parquet(buf)
    frame = read(buf.getvalue(), "parquet")
    assert frame["a"].tolist() == [1.5, 2.5] and frame["b"].tolist() == ["x", "y"]


def test_ragged_rows_are_found_across_chunk_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    import lockgate.ml.tabular as tabular

    monkeypatch.setattr(tabular, "_CHUNK", 7)  # force many chunks and quotes spanning them
    good = b'a,b\n"x,\n1",2\n3,4\n'
    assert read(good).shape == (2, 2)
    with pytest.raises(DatasetRejectedError, match="line 4 has 1 fields"):
        read(good + b"5\n")
