"""CSV (and TSV) -> a table of strings with the source line of each record, whatever the file throws at it.

What real files do, and what happens here:
- compressed (gzip, whatever the name) -> read through a decompressing stream;
- UTF-16/UTF-32 (with a byte-order mark, or NUL-padded ASCII) or UTF-8 with BOM -> decoded as such;
- binary (NUL bytes, a ZIP or Excel workbook) -> a one-line error naming the file;
- a record with too few or too many values -> rejected by line, its raw text kept for the rejects file;
- a line longer than Arrow's read block (BLOCK_SIZE) -> that line rejected by number, the others read;
- an unterminated quote (a quoted value running to the end of the file, or over more than MAX_VALUE_LINES
  lines) -> that record rejected by line, and the lines it swallowed read again as rows.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from momenti.core.errors import InputError
from momenti.ingest.source import LINE, SourceTable

BLOCK_SIZE = 1 << 24  # Arrow's read block, 16 MB: no record may be longer (a longer line is rejected)
MAX_VALUE_LINES = 1000  # a quoted value over more lines than this is an unterminated quote, not a comment
HEAD = 1 << 16  # bytes sniffed for the encoding, the delimiter and the header

BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


@dataclass
class TextInput:
    """Where the text of a file comes from: the file itself or a gzip stream, in a known encoding."""

    path: Path
    encoding: str  # a Python codec name
    gzipped: bool = False

    def binary(self) -> IO[bytes]:
        return gzip.open(self.path, "rb") if self.gzipped else self.path.open("rb")  # type: ignore[return-value]

    def arrow_encoding(self) -> str:
        # Arrow reads UTF-8 natively (and skips a UTF-8 BOM); any other codec it decodes through Python.
        return "utf8" if self.encoding in ("utf-8", "utf-8-sig") else self.encoding


def sniff_text(path: Path, what: str = "CSV") -> tuple[TextInput, str]:
    """(how to read the file's text, its first HEAD bytes decoded), or a one-line error for binary data."""
    with path.open("rb") as fh:
        raw = fh.read(HEAD)
    gzipped = raw[:2] == b"\x1f\x8b"
    if gzipped:
        try:
            with gzip.open(path, "rb") as fh:
                raw = fh.read(HEAD)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: a damaged gzip file ({exc})") from exc
    if raw[:4] == b"PK\x03\x04":
        raise InputError(f"{path}: a ZIP archive or an Excel workbook, not a {what} file "
                         "(unzip it, or save the sheet as CSV)")
    encoding = next((enc for bom, enc in BOMS if raw.startswith(bom)), None)
    if encoding is None and b"\x00" in raw:
        # UTF-16 without a byte-order mark: ASCII text with every other byte NUL.
        if raw[1::2].count(0) > len(raw) // 4 and not raw[0::2].count(0):
            encoding = "utf-16-le"
        elif raw[0::2].count(0) > len(raw) // 4 and not raw[1::2].count(0):
            encoding = "utf-16-be"
        else:
            raise InputError(f"{path}: binary data, not a {what} file (export it as CSV or JSON Lines)")
    if encoding is None:
        for enc in ("utf-8",):
            try:
                return TextInput(path, enc, gzipped), raw.decode(enc)
            except UnicodeDecodeError as exc:
                # Cut in the middle of a character at the sample end; only when the sample is cut (a whole small
                # file is not: a cp1252 "caffè" in its last bytes was taken for cut UTF-8, and the file refused).
                if len(raw) == HEAD and exc.start >= len(raw) - 4:
                    return TextInput(path, enc, gzipped), raw[: exc.start].decode(enc)
        return TextInput(path, "cp1252", gzipped), raw.decode("cp1252", errors="replace")
    if len(raw) == HEAD:  # a code unit may be cut at the sample end
        raw = raw[: len(raw) - len(raw) % 4]
    return TextInput(path, encoding, gzipped), raw.decode(encoding, errors="ignore")


class LongLines(io.RawIOBase):
    """The bytes of a stream with every line longer than `limit` emptied (its newline kept, so the lines
    after it keep their numbers). `dropped`: (line number, length) of each emptied line."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        super().__init__()
        self.raw, self.limit = raw, limit
        self.line, self.skipped, self.skipping, self.eof = 1, 0, False, False
        self.pending, self.out = bytearray(), bytearray()
        self.dropped: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001 - a writable buffer
        while not self.out and not self.eof:
            self._fill()
        n = min(len(b), len(self.out))
        b[:n] = self.out[:n]
        del self.out[:n]
        return n

    def _fill(self) -> None:
        chunk = self.raw.read(1 << 20)
        if not chunk:
            self.eof = True
            if self.skipping:
                self.dropped.append((self.line, self.skipped))
            else:
                self.out += self.pending
            return
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            piece = chunk[start:] if nl < 0 else chunk[start:nl + 1]
            if self.skipping:
                self.skipped += len(piece)
            else:
                self.pending += piece
                if len(self.pending) > self.limit:
                    self.skipping, self.skipped = True, len(self.pending)
                    self.pending.clear()
            if nl < 0:
                return
            if self.skipping:
                self.out += b"\n"
                self.dropped.append((self.line, self.skipped))
                self.skipping = False
            else:
                self.out += self.pending
                self.pending.clear()
            self.line += 1
            start = nl + 1


def _sniff_delimiter(sample: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv" or path.name.lower().endswith(".tsv.gz"):
        return "\t"
    first = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(path: Path, delimiter: str | None = None) -> SourceTable:

    inp, sample = sniff_text(path)
    delimiter = delimiter or _sniff_delimiter(sample, path)
    # newline="": a lone "\r" ends a line (as it does for Arrow's reader); without it csv.Error leaked out.
    header = next(csv.reader(io.StringIO(sample.lstrip("\ufeff"), newline=""), delimiter=delimiter), None)
    if not header:
        raise InputError(f"{path}: empty file (no header line)")
    # An unnamed column (a spreadsheet's or pandas' index) still holds data: name it by its position.
    header = [h.strip() or f"column_{i}" for i, h in enumerate(header, start=1)]
    dup = {h for h in header if header.count(h) > 1}
    if dup:
        raise InputError(f"{path}:1: header: column names repeated: {', '.join(sorted(dup))}")
    convert = pacsv.ConvertOptions(column_types={h: pa.string() for h in header}, strings_can_be_null=True,
                                   null_values=[""], quoted_strings_can_be_null=True)
    invalid: list[tuple[int, int, int, str]] = []  # (record number, header = 1; expected; found; raw text)

    def skip(row) -> str:  # noqa: ANN001 - pyarrow's InvalidRow
        invalid.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    def read(source: object, use_threads: bool, on_invalid=None) -> pa.Table:  # noqa: ANN001
        return pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(encoding=inp.arrow_encoding(), column_names=header, skip_rows=1,
                                           block_size=BLOCK_SIZE, use_threads=use_threads),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             invalid_row_handler=on_invalid),
            convert_options=convert,
        )

    single_byte = inp.encoding in ("utf-8", "utf-8-sig", "cp1252")  # "\n" is one byte: lines can be cut as bytes
    opener: Callable[[], IO[bytes]] = inp.binary

    def long_lines() -> IO[bytes]:
        return LongLines(inp.binary(), BLOCK_SIZE)  # type: ignore[return-value]

    def again(open_stream: Callable[[], IO[bytes]]) -> tuple[pa.Table, list[tuple[int, int]]]:
        # On one thread, so that Arrow numbers the records: each bad one is reported by line, the others kept.
        invalid.clear()
        with open_stream() as stream:
            return read(stream, use_threads=False, on_invalid=skip), getattr(stream, "dropped", [])

    dropped: list[tuple[int, int]] = []
    try:
        if single_byte and not inp.gzipped:
            table = read(str(path), use_threads=True)
        else:
            with inp.binary() as stream:
                table = read(stream, use_threads=True)
    except pa.ArrowInvalid as exc:
        try:
            if "straddl" in str(exc) and single_byte:
                # A line longer than a read block: read again with such lines emptied, reject them by number.
                opener = long_lines
                table, dropped = again(opener)
            elif "columns" in str(exc):  # records with too many or too few values
                try:
                    table, dropped = again(opener)
                except pa.ArrowInvalid as exc2:
                    if "straddl" not in str(exc2) or not single_byte:
                        raise
                    opener = long_lines
                    table, dropped = again(opener)
            else:
                raise
        except pa.ArrowInvalid as exc2:
            raise InputError(f"{path}: {_csv_error(exc2)}") from exc2
        except UnicodeDecodeError as exc2:
            raise _undecodable(path, inp, exc2) from exc2
    except UnicodeDecodeError as exc:
        # Arrow decodes a text that is not UTF-8 through Python's strict codec: cp1252 has no character for the
        # bytes 0x81, 0x8d, 0x8f, 0x90 and 0x9d, and a UTF-16 text may be cut. It leaked out as UnicodeDecodeError.
        raise _undecodable(path, inp, exc) from exc
    lines, unterminated = _csv_lines(opener, inp, table.num_rows + len(invalid), delimiter)
    problems: list[tuple[int, str, str]] = [
        (n, "csv", f"line of {size:,} bytes, longer than the {BLOCK_SIZE:,} a line may have: not read")
        for n, size in dropped]
    raws: dict[int, str] = {}
    if invalid or unterminated:
        import numpy as np

        bad = {n - 2: (want, got, text) for n, want, got, text in invalid}  # record index (header: -1)
        quotes = {record: (message, text) for record, message, text, _ in unterminated}
        for record, (want, got, text) in bad.items():
            line = int(lines[record])
            # A record cut short by a quote never closed is reported as that, not by its count of values.
            message, text = quotes.pop(record) if record in quotes else \
                (f"expected {want} values (one per column), found {got}", text)
            problems.append((line, "csv", message))
            raws[line] = text
        keep = np.ones(len(lines), dtype=bool)
        keep[list(bad)] = False
        valid_at = np.flatnonzero(keep)  # table row -> record index
        drop_rows = []
        for record, (message, text) in quotes.items():
            line = int(lines[record])
            problems.append((line, "csv", message))
            raws[line] = text
            drop_rows.append(int(np.searchsorted(valid_at, record)))
            keep[record] = False
        if drop_rows:
            mask = np.ones(table.num_rows, dtype=bool)
            mask[drop_rows] = False
            table = table.filter(pa.array(mask))
        lines = lines[keep]
    table = table.append_column(LINE, pa.array(lines, pa.int64()))
    for _, _, _, (first, last) in unterminated:
        # The lines a quote left open took in are rows of their own, most likely: read them as such.
        more = _reread(opener, inp, header, delimiter, first, last)
        table = pa.concat_tables([table, more.table]).sort_by(LINE)
        problems += more.problems
        raws.update(more.raw)
    problems.sort(key=lambda p: p[0])
    return SourceTable(table, "line", problems, raw=raws, delimiter=delimiter)


def _reread(opener: Callable[[], IO[bytes]], inp: TextInput, header: list[str], delimiter: str, first: int,
            last: int) -> SourceTable:
    """Lines first..last of the file read as a CSV of their own (same header), numbered as in the file."""
    import os
    import tempfile

    encoding = "utf-8-sig" if inp.encoding.startswith("utf-8") else inp.encoding
    fd, name = tempfile.mkstemp(suffix=".csv")  # the system's temporary folder, never beside the input
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, \
                io.TextIOWrapper(opener(), encoding=encoding, errors="replace", newline="") as fh:
            csv.writer(out, delimiter=delimiter).writerow(header)
            for n, line in enumerate(fh, start=1):
                if n > last:
                    break
                if n >= first:
                    out.write(line)
        sub = read_csv(Path(name), delimiter)
    finally:
        os.unlink(name)
    shift = first - 2  # line 2 of the piece (its first after the header) is line `first` of the file
    lines = pc.add(sub.table[LINE], shift)
    sub.table = sub.table.set_column(sub.table.column_names.index(LINE), LINE, lines)
    sub.problems = [(n + shift, f, r) for n, f, r in sub.problems]
    sub.raw = {n + shift: t for n, t in sub.raw.items()}
    return sub


def _undecodable(path: Path, inp: TextInput, exc: UnicodeDecodeError) -> InputError:
    byte = exc.object[exc.start:exc.start + 1].hex() if isinstance(exc.object, bytes) else "?"
    return InputError(f"{path}: not {inp.encoding.upper()} text (byte 0x{byte} cannot be read as it): "
                      "save the file as UTF-8 and import it again")


def _csv_error(exc: Exception) -> str:
    msg = str(exc)
    if "straddl" in msg:  # a record over many lines (no single line too long) bigger than a read block
        return (f"a record longer than {BLOCK_SIZE:,} bytes over several lines: is a quote left open? "
                "(check the quotes and import the file again)")
    # Arrow names the row it choked on ("Row #12: Expected 6 columns, got 7"); say it as a line.
    if "Row #" in msg:
        row = msg.split("Row #", 1)[1].split(":", 1)
        return f"line {int(row[0]) + 1}: {row[1].strip()}" if row[0].isdigit() else msg
    return msg


class _Recorded:
    """The lines handed to csv.reader, kept until the record they make is taken (its raw text)."""

    def __init__(self, fh: IO[str]) -> None:
        self.fh, self.lines = fh, []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self.fh)
        self.lines.append(line)
        return line

    def take(self) -> str:
        text = "".join(self.lines)
        self.lines.clear()
        return text


def _csv_lines(opener: Callable[[], IO[bytes]], inp: TextInput, rows: int, delimiter: str):  # noqa: ANN202
    """(source line of each record, the records that are unterminated quotes: (index, message, raw first
    line, (first, last) line the quote took in)).

    A record starts at row + 2, unless quoted values span lines or blank lines (which the reader skips)
    sit between records: then the lines are counted exactly, by Python's csv module over the same text."""
    import numpy as np

    physical, last, lone_cr, tail = 0, b"", False, b""
    if inp.encoding in ("utf-8", "utf-8-sig", "cp1252"):  # one byte "\n" per line in these encodings
        with opener() as fh:
            for chunk in iter(lambda: fh.read(1 << 24), b""):
                physical += chunk.count(b"\n")
                # A "\r" alone ends a line for the count below (Python's universal newlines) but not for this
                # one: a row's line depended on whether some other value spanned lines. Such files go below.
                lone_cr = lone_cr or chunk.count(b"\r") != chunk.count(b"\r\n")
                last, tail = chunk[-1:], chunk[-HEAD:]
    lines = physical + (1 if last not in (b"\n", b"") else 0)  # a last line without its newline counts too
    # A last line that opens a quote and never closes it (a file cut short) goes below too, to be reported.
    last_line = tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    open_end = b'"' in last_line and _ends_in_quote(last_line.decode(inp.encoding, errors="replace"), delimiter)
    if lines == rows + 1 and not lone_cr and not open_end:  # one line per record: none spans lines, none blank
        return np.arange(2, rows + 2, dtype=np.int64), []
    out = np.empty(rows, dtype=np.int64)
    unterminated: list[tuple[int, str, str, tuple[int, int]]] = []
    csv.field_size_limit(max(csv.field_size_limit(), BLOCK_SIZE))  # a value may be as long as a line
    encoding = "utf-8-sig" if inp.encoding.startswith("utf-8") else inp.encoding
    with io.TextIOWrapper(opener(), encoding=encoding, errors="replace", newline="") as fh:
        source = _Recorded(fh)
        reader = csv.reader(source, delimiter=delimiter)
        next(reader, None)
        source.take()
        i, start = 0, reader.line_num + 1
        last: tuple[int, int, int, str] | None = None  # (index, start, end, raw text) of the last record
        for record in reader:
            text = source.take()
            if not record:  # a blank line: the Arrow reader skips it too
                start = reader.line_num + 1
                continue
            end = reader.line_num
            if i < rows:
                out[i] = start
                last = (i, start, end, text)
                if end - start + 1 > MAX_VALUE_LINES:
                    unterminated.append((i, f"unterminated quote? a quoted value runs from this line over "
                                            f"{end - start + 1:,} lines, to line {end:,}: this row is left out, the "
                                            "lines after it are read as rows", _first_line(text), (start + 1, end)))
            i += 1
            start = reader.line_num + 1
    # Asked of the record's text itself: an odd count of quotes over several lines missed `x,"oops` on the last
    # line (read as a row, its value taking the line's end: "oops\n") and took `x,"a\nb",5"` for one.
    if last is not None and _ends_in_quote(last[3], delimiter) and (not unterminated or
                                                                   unterminated[-1][0] != last[0]):
        # The file ends inside a quoted value: the rows after its opening quote were read into it.
        n, start, end, text = last
        unterminated.append((n, "unterminated quote: a quoted value opened on this line runs to the end of the file: "
                                "this row is left out, the lines after it are read as rows", _first_line(text),
                             (start + 1, end)))
    return out, unterminated


def _ends_in_quote(text: str, delimiter: str) -> bool:
    """Whether a record's text ends inside a quoted value (Python's strict reader: "unexpected end of data")."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
