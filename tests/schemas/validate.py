#!/usr/bin/python3
"""Validate every row or object of a qualreport file against a JSON Schema.

usage: validate.py SCHEMA FILE [--format csv|ndjson|ndjson.gz|json]

csv        each data row becomes an object keyed by the header; "" -> null
           and the numeric columns (http_status, attempts, count, line)
           -> integers
ndjson     one JSON object per line, strict UTF-8 ("ndjson.gz": gzipped)
json       FILE is one JSON document
The format defaults from FILE's suffix (.csv, .ndjson/.jsonl[.gz], else
json).

For row formats, when the schema closes its objects (additionalProperties
false) the keys (CSV header, NDJSON key order) must also come in the
schema's property order: that order is the report's column contract.

Exit 0 when everything validates, 1 naming the first bad row, 2 on usage
or unreadable input. Needs python3-jsonschema (Debian), hence /usr/bin.
"""
import csv
import gzip
import io
import json
import sys

from jsonschema import Draft202012Validator

NUMERIC = ("http_status", "attempts", "count", "line")


def fail(where, msg):
    print(f"{where}: {msg}", file=sys.stderr)
    sys.exit(1)


def reject_constant(name):
    raise ValueError(f"not JSON: {name}")


class Pairs(list):
    """A JSON object as its (key, value) list, to see order and dups."""


def loads(text):
    # Refuse NaN/Infinity, which Python accepts but JSON does not.
    return json.loads(text, object_pairs_hook=Pairs,
                      parse_constant=reject_constant)


def to_object(value):
    """Pairs (from loads) back to dicts, recursively."""
    if isinstance(value, Pairs):
        return {k: to_object(v) for k, v in value}
    if isinstance(value, list):
        return [to_object(v) for v in value]
    return value


def infer_format(path):
    low = path.lower()
    for suffix, fmt in ((".ndjson.gz", "ndjson.gz"), (".jsonl.gz", "ndjson.gz"),
                        (".ndjson", "ndjson"), (".jsonl", "ndjson"),
                        (".csv", "csv")):
        if low.endswith(suffix):
            return fmt
    return "json"


def csv_rows(data):
    text = data.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        fail("line 1", "no header row")
    except csv.Error as e:
        fail("line 1", f"bad CSV: {e}")
    yield "header", header, None
    row_no = 0
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            fail(f"line {line}", f"bad CSV: {e}")
        row_no += 1
        if len(cells) != len(header):
            fail(f"row {row_no} (line {line})",
                 f"{len(cells)} fields, header has {len(header)}")
        obj = {}
        for key, cell in zip(header, cells):
            if cell == "":
                obj[key] = None
            elif key in NUMERIC:
                try:
                    obj[key] = int(cell, 10)
                except ValueError:
                    obj[key] = cell  # left a string: the schema names it
            else:
                obj[key] = cell
        yield f"row {row_no} (line {line})", obj, header


def ndjson_rows(data):
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        fail(f"line {len(lines)}", "last line does not end with a newline")
    for n, raw in enumerate(lines, 1):
        where = f"line {n}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            fail(where, f"not UTF-8: {e}")
        try:
            pairs = loads(text)
        except ValueError as e:
            fail(where, f"not JSON: {e}")
        if not isinstance(pairs, Pairs):
            fail(where, "not a JSON object")
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            fail(where, "duplicate key")
        yield where, to_object(pairs), keys


def main(argv):
    args = [a for a in argv[1:]]
    fmt = None
    if "--format" in args:
        i = args.index("--format")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        fmt = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2 or fmt not in (None, "csv", "ndjson", "ndjson.gz",
                                      "json"):
        print(__doc__, file=sys.stderr)
        return 2
    schema_path, path = args
    fmt = fmt or infer_format(path)
    try:
        with open(schema_path, "rb") as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
        with open(path, "rb") as f:
            data = f.read()
        if fmt == "ndjson.gz":
            data = gzip.decompress(data)
    except (OSError, ValueError, EOFError) as e:
        print(f"validate.py: {e}", file=sys.stderr)
        return 2
    validator = Draft202012Validator(schema)
    order = None
    if schema.get("additionalProperties") is False:
        order = list(schema.get("properties", {}))

    if fmt == "json":
        try:
            doc = json.loads(data.decode("utf-8"),
                             parse_constant=reject_constant)
        except ValueError as e:
            fail(path, f"not JSON: {e}")
        rows = [(path, doc, None)]
    elif fmt == "csv":
        rows = csv_rows(data)
    else:
        rows = ndjson_rows(data)

    count = 0
    for where, obj, keys in rows:
        if where == "header":
            if order is not None and obj != order:
                fail("header", f"columns {obj} != {order}")
            continue
        if order is not None and keys is not None and \
                set(keys) == set(order) and keys != order:
            fail(where, f"keys out of order: {keys}")
        error = next(iter(sorted(validator.iter_errors(obj),
                                 key=lambda e: list(e.path))), None)
        if error is not None:
            loc = "/".join(str(p) for p in error.absolute_path)
            fail(where, f"{loc or '(row)'}: {error.message}")
        count += 1
    print(f"{path}: {count} valid", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
