"""Read uploaded tables (CSV, gzipped CSV, Parquet) safely.

Every hostile or broken file ends in :class:`~lockgate.errors.DatasetRejectedError` with a reason a
person can act on; nothing else escapes. Choices (documented in ``docs/spec.md``):

- The format is taken from the magic bytes (gzip ``1f 8b``, Parquet ``PAR1``); ``fmt`` is a hint.
- Text must be UTF-8. A UTF-8 byte-order mark is stripped and the file accepted; UTF-16/32 marks
  are refused ("save as UTF-8").
- ``""``, ``nan``, ``NaN``, ``NA``, ``N/A``, ``null`` mean missing. ``inf``/``-inf``/``Infinity``
  in a numeric column are refused as non-finite.
- Every row must have as many fields as the header (counted outside quotes, vectorised).
- Gzip is stream-decompressed with a byte cap; rows are capped for every format.
"""

from __future__ import annotations

import io
import zlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lockgate.errors import DatasetRejectedError

NA_VALUES = ["", "nan", "NaN", "NAN", "NA", "N/A", "n/a", "null", "NULL"]
_OTHER_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}
_CHUNK = 4 * 1024 * 1024


def _reject(reason: str) -> DatasetRejectedError:
    return DatasetRejectedError(reason, reasons=[reason])


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Stream-decompress with a hard cap, so a gzip bomb costs at most ``max_bytes`` of memory."""
    inflater = zlib.decompressobj(wbits=31)
    out = io.BytesIO()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _CHUNK):
            chunk = view[start : start + _CHUNK]
            while chunk:
                room = max_bytes - out.tell() + 1
                out.write(inflater.decompress(chunk, room))
                if out.tell() > max_bytes:
                    raise _reject(
                        f"the gzip file decompresses to more than {max_bytes:,} bytes (the limit); "
                        "upload a smaller file or split it"
                    )
                chunk = memoryview(inflater.unconsumed_tail)
                if inflater.eof:
                    break
            if inflater.eof:
                break
        out.write(inflater.flush())
    except zlib.error as exc:
        raise _reject(f"the gzip file is corrupt: {exc}") from exc
    if not inflater.eof:
        raise _reject("the gzip file is truncated")
    return out.getvalue()


def _check_field_counts(data: bytes, delimiter: int = ord(",")) -> None:
    """Refuse ragged rows: each line needs as many delimiters (outside quotes) as the header.

    Vectorised over fixed-size chunks and working on the positions of newlines, delimiters and
    quotes only; a position is outside quotes when an even number of quote characters precede it
    (this also handles escaped ``""`` quotes and newlines inside quoted fields).
    """
    expected: int | None = None
    parity = 0  # quotes seen so far, mod 2
    pending = 0  # delimiters on the unfinished line carried over from the previous chunk
    pending_raw = 0  # its bytes
    last_byte = 10
    line_no = 0
    for start in range(0, len(data), _CHUNK):
        arr = np.frombuffer(data, dtype=np.uint8, count=min(_CHUNK, len(data) - start), offset=start)
        quotes = np.flatnonzero(arr == 34)
        ends = np.flatnonzero(arr == 10)
        delims = np.flatnonzero(arr == delimiter)
        if quotes.size or parity:
            ends = ends[(np.searchsorted(quotes, ends) + parity) % 2 == 0]
            delims = delims[(np.searchsorted(quotes, delims) + parity) % 2 == 0]
            parity = (parity + quotes.size) % 2
        if not ends.size:
            pending += delims.size
            pending_raw += arr.size
            last_byte = int(arr[-1])
            continue
        counts = np.diff(np.searchsorted(delims, ends), prepend=0)
        counts[0] += pending
        lengths = np.diff(ends, prepend=-1) - 1
        lengths[0] += pending_raw
        before = np.where(ends > 0, arr[np.maximum(ends - 1, 0)], last_byte)
        lengths -= (before == 13) & (lengths > 0)  # CRLF: the CR is not content
        expected, line_no = _judge(counts, lengths, expected, line_no)
        pending = int(delims.size - np.searchsorted(delims, ends[-1]))
        pending_raw = arr.size - int(ends[-1]) - 1
        last_byte = int(arr[-1])
    if pending_raw and data[len(data) - pending_raw :].strip(b"\r"):
        _judge(np.array([pending]), np.array([pending_raw]), expected, line_no)


def _judge(
    counts: np.ndarray, lengths: np.ndarray, expected: int | None, line_no: int
) -> tuple[int | None, int]:
    """Compare per-line delimiter counts with the header's; blank lines (pandas skips them) are ignored."""
    blank = lengths == 0  # pandas skips blank lines
    if expected is None:
        nonblank = np.flatnonzero(~blank)
        if not nonblank.size:
            return None, line_no + counts.size
        expected = int(counts[nonblank[0]])
    bad = np.flatnonzero((counts != expected) & ~blank)
    if bad.size:
        row = int(bad[0])
        raise _reject(
            f"ragged rows: line {line_no + row + 1} has {int(counts[row]) + 1} fields but the header has "
            f"{expected + 1}; every row needs one value per column (quote values that contain commas)"
        )
    return expected, line_no + counts.size


def _not_utf8(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:  # only on the error path: locate the first bad byte for the user
        line = data.count(b"\n", 0, exc.start) + 1
        return f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8 CSV"
    return "the file is not UTF-8; save it as UTF-8 CSV"


def _read_csv(data: bytes, max_rows: int) -> pd.DataFrame:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _reject("the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8 CSV")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[
            3:
        ]  # UTF-8 BOM (Excel's "CSV UTF-8"): harmless, stripped so the first column keeps its name
    if not data.strip():
        raise _reject("the file is empty")
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8",
            encoding_errors="strict",
            keep_default_na=False,
            na_values=NA_VALUES,
            nrows=max_rows + 1,
        )
    except UnicodeDecodeError as exc:
        raise _reject(_not_utf8(data)) from exc
    except pd.errors.EmptyDataError as exc:
        raise _reject("the file is empty") from exc
    except pd.errors.ParserError as exc:
        _check_field_counts(data)  # names the first ragged line when that is the cause
        raise _reject(f"the CSV cannot be parsed: {str(exc).strip()}; check delimiters and quoting") from exc
    _check_delimiter(frame)
    _check_field_counts(data)
    return frame


def _check_delimiter(frame: pd.DataFrame) -> None:
    if len(frame.columns) != 1:
        return
    header = str(frame.columns[0])
    for delimiter, name in _OTHER_DELIMITERS.items():
        if delimiter in header:
            raise _reject(
                f"the file looks {name}-delimited; use commas (found one column named {header[:60]!r})"
            )


def _read_parquet(data: bytes, max_rows: int, max_bytes: int) -> pd.DataFrame:
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        meta = parquet.metadata
        if meta.num_rows > max_rows:
            raise _reject(f"the file has {meta.num_rows:,} rows, more than the {max_rows:,}-row limit")
        unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if unpacked > max_bytes:
            raise _reject(
                f"the Parquet file expands to {unpacked:,} bytes, more than the {max_bytes:,}-byte limit"
            )
        frame: pd.DataFrame = parquet.read().to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _reject(f"the Parquet file cannot be read: {exc}") from exc
    return frame


def _check_frame(frame: pd.DataFrame, max_rows: int) -> None:
    if len(frame.columns) == 0:
        raise _reject("the file has no columns")
    if len(frame) == 0:
        raise _reject("the file has a header but no data rows")
    if len(frame) > max_rows:
        raise _reject(f"the file has more than {max_rows:,} rows (the limit); split it")
    unnamed = [str(c) for c in frame.columns if str(c).startswith("Unnamed: ") or not str(c).strip()]
    if unnamed:
        raise _reject(f"{len(unnamed)} column(s) have no name in the header (e.g. {unnamed[0]!r})")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise _reject("the header repeats a column name")
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values.dtype):
            infinite = np.isinf(values.to_numpy(dtype=np.float64, na_value=np.nan))
            if infinite.any():
                row = int(np.flatnonzero(infinite)[0])
                raise _reject(
                    f"column {column!r} has {int(infinite.sum())} infinite value(s) "
                    f"(first at data row {row + 1}); "
                    "only finite numbers are valid; leave the cell empty for missing"
                )


def read_table(data: bytes, fmt: str = "csv", *, max_rows: int, max_decompressed_bytes: int) -> pd.DataFrame:
    """Parse an uploaded table into a DataFrame, or refuse it with a reason.

    Parameters
    ----------
    data : the uploaded bytes.
    fmt : ``csv``, ``csv.gz`` or ``parquet`` — a hint; magic bytes decide.
    max_rows : more data rows than this is refused.
    max_decompressed_bytes : a gzip (or Parquet) expanding past this is refused without expanding it further.

    Examples
    --------
    >>> read_table(b"a,b\\n1,x\\n", max_rows=10, max_decompressed_bytes=1000).shape
    (1, 2)
    """
    if not data:
        raise _reject("the file is empty")
    if data.startswith(b"PAR1") or (fmt == "parquet" and not data.startswith(b"\x1f\x8b")):
        frame = _read_parquet(data, max_rows, max_decompressed_bytes)
    else:
        if data.startswith(b"\x1f\x8b"):
            data = _gunzip(data, max_decompressed_bytes)
        frame = _read_csv(data, max_rows)
    _check_frame(frame, max_rows)
    return frame
