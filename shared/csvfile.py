"""Tables given as a header and rows of cells (a report whose rows are built by hand) as CSV or
XLSX downloads — the same files as ``shared.web.export`` (UTF-8 with a BOM, Chinese headers, CRLF;
XLSX by openpyxl), written by the same code."""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Callable, Iterable, Sequence

from fastapi.responses import Response

from shared.web.export import BOM, Column, Export, csv_text, file_response

__all__ = ["BOM", "csv_response", "table", "to_csv"]


def table(name: str, header: Sequence[str], rows: Callable[[Any], Iterable[Sequence[Any]]] | None = None) -> Export:
    """The export of a table given as ``header`` and rows of cells; ``rows``: how a report's JSON
    answer gives its rows (what a test compares the file with)."""
    columns = tuple(Column(itemgetter(i), h) for i, h in enumerate(header))
    return Export(name, columns=columns) if rows is None else Export(name, columns=columns, rows=rows)  # type: ignore[arg-type]


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return csv_text(table("表", header), rows)  # type: ignore[arg-type]


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], format: str = "csv") -> Response:
    """A download named ``filename`` (its extension follows ``format``: csv or xlsx)."""
    stem = filename.rsplit(".", 1)[0]
    return file_response(table(stem, header), format, rows, stem)  # type: ignore[arg-type]
