"""Recipient lists in S3, read in byte slices so no run holds the whole list.

A list is line based: CSV with a header row (no newlines inside fields) or JSON Lines.
The campaign's cursor is a byte offset: each run reads a bounded range from there,
uses only the complete lines in it, and stores the offset just past the last line it
finished. Inline recipients are written as JSON Lines when the campaign is created.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from wacloud.errors import InputError
from wacloud.infra.aws import s3

CHUNK_BYTES = 256 * 1024
HEADER_MAX_BYTES = 64 * 1024
PREFIX = "campaigns/"


class RecipientListError(InputError, ValueError):
    """The list cannot be read (no header, a line longer than a chunk, bad format)."""


@dataclass(frozen=True)
class ListInfo:
    bucket: str
    key: str
    format: str  # csv | jsonl
    columns: list[str]
    start: int  # offset of the first data line
    size: int


def write_inline(bucket: str, key: str, rows: list[dict[str, Any]]) -> ListInfo:
    body = "".join(json.dumps(r, separators=(",", ":"), default=str) + "\n" for r in rows)
    data = body.encode()
    s3().put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/x-ndjson")
    return ListInfo(bucket, key, "jsonl", [], 0, len(data))


def describe(bucket: str, key: str) -> ListInfo:
    """Format and header of a list object (one ranged read)."""
    size = int(s3().head_object(Bucket=bucket, Key=key)["ContentLength"])
    if key.endswith((".jsonl", ".ndjson", ".json")):
        return ListInfo(bucket, key, "jsonl", [], 0, size)
    head = _range(bucket, key, 0, min(size, HEADER_MAX_BYTES))
    newline = head.find(b"\n")
    if newline < 0:
        if size > len(head):
            raise RecipientListError("CSV header row longer than 64 KiB")
        newline = len(head)
    text = head[:newline].decode("utf-8-sig").strip("\r")
    columns = [c.strip() for c in next(csv.reader([text]))]
    if not {"wa_id", "to", "phone"} & set(columns):
        raise RecipientListError("CSV needs a wa_id, to or phone column")
    return ListInfo(bucket, key, "csv", columns, min(size, newline + 1), size)


def _range(bucket: str, key: str, start: int, end: int) -> bytes:
    if end <= start:
        return b""
    body = s3().get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"]
    return bytes(body.read())


def read_lines(info: ListInfo, offset: int, max_bytes: int = CHUNK_BYTES) -> list[tuple[int, str]]:
    """Complete lines from `offset`, each with the offset just past it."""
    end = min(info.size, offset + max_bytes)
    data = _range(info.bucket, info.key, offset, end)
    if end < info.size:
        cut = data.rfind(b"\n")
        if cut < 0:
            raise RecipientListError(f"a line at byte {offset} is longer than {max_bytes} bytes")
        data = data[: cut + 1]
    lines: list[tuple[int, str]] = []
    position = offset
    for raw in data.splitlines(keepends=True):
        position += len(raw)
        text = raw.decode("utf-8", errors="replace").strip("\r\n")
        lines.append((position, text))
    return lines


def parse_line(info: ListInfo, text: str) -> dict[str, Any] | None:
    """One recipient row, or None for a blank or unreadable line."""
    if not text.strip():
        return None
    if info.format == "jsonl":
        try:
            row = json.loads(text)
        except ValueError:
            return None
        return row if isinstance(row, dict) else None
    values = next(csv.reader(io.StringIO(text)), [])
    return {c: v for c, v in zip(info.columns, values, strict=False) if v != ""}
