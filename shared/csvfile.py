"""CSV exports for officials' spreadsheets: UTF-8 with a BOM (so Excel on a Chinese Windows opens
it as UTF-8, not GBK), Chinese headers, CRLF line ends, one header row."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence
from urllib.parse import quote

from fastapi.responses import Response

BOM = "\ufeff"


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return BOM + out.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A download named ``filename`` (RFC 6266 ``filename*`` for the Chinese name)."""
    return Response(to_csv(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})
