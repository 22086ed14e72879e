"""Tables given as a header and rows of cells (a report whose rows are built by hand) as CSV or
XLSX downloads — the same files as ``shared.web.export`` (UTF-8 with a BOM, Chinese headers, CRLF;
XLSX by openpyxl), written by the same code."""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Iterable, Sequence

from fastapi.responses import Response

from shared.web.export import BOM, Column, Export, csv_text, file_response

__all__ = ["BOM", "csv_response", "to_csv"]


def _table(name: str, header: Sequence[str]) -> Export:
    return Export(name, columns=tuple(Column(itemgetter(i), h) for i, h in enumerate(header)))


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return csv_text(_table("表", header), rows)  # type: ignore[arg-type]


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], format: str = "csv") -> Response:
    """A download named ``filename`` (its extension follows ``format``: csv or xlsx)."""
    stem = filename.rsplit(".", 1)[0]
    return file_response(_table(stem, header), format, rows, stem)  # type: ignore[arg-type]
