"""What an idempotency key's request hash covers for a multipart upload: the parts' names,
filenames and contents — not the boundary, which a client draws anew for each attempt.

1. A body that is not ``multipart/form-data`` (or has no boundary) is hashed as it is.
2. A multipart body is reduced to, for each part in order, its ``Content-Disposition`` line (the
   field name and filename) and the SHA-256 of its content; so the same file retried with
   another boundary hashes the same, and another file or another field does not.
"""

from __future__ import annotations

import hashlib

from python_multipart.multipart import parse_options_header


def canonical_body(content_type: str | None, body: bytes) -> bytes:
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        return body
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary:
        return body
    parts = [b"multipart/form-data"]
    for chunk in body.split(b"--" + boundary)[1:-1]:  # before the first and after the last: preamble, epilogue
        head, _, content = chunk.partition(b"\r\n\r\n")
        disposition = next((line.strip() for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-disposition")), b"")
        parts.append(disposition + b"\x00" + hashlib.sha256(content.removesuffix(b"\r\n")).digest())
    return b"\x1f".join(parts)
