"""``fupin verify-receipt FILE [--key VKEY…]``: verify a receipt offline (shared.events.receipt).

Exit 0 when it verifies, 1 when it does not (the failing step on stderr), 2 when the file or a key
cannot be read. Without ``--key`` the receipt's own keys are used and the output says so: compare
them with the keys the services publish (README, "Verifiable history").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer


def verify_receipt(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="the receipt (JSON) to verify"),
    key: Optional[List[str]] = typer.Option(None, "--key", help="a published verifier key "
                                            "(name+id+base64) to trust: the log's and its witnesses'; repeat"),
) -> None:
    """Verify a receipt offline: the event's hash, its inclusion in the signed checkpoint, the signatures."""
    from shared.events.note import NoteError, Verifier
    from shared.events.receipt import ReceiptError, verify

    try:
        keys = [Verifier.from_key_string(k) for k in key] if key else None
    except NoteError as exc:
        typer.echo(f"verify-receipt: --key: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        verified = verify(file.read_bytes(), keys)
    except ReceiptError as exc:
        typer.echo(json.dumps({"verified": False, "step": exc.step, "reason": exc.reason}, ensure_ascii=False))
        typer.echo(f"verify-receipt: {file} does NOT verify — {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"verified": True, **verified.__dict__}, ensure_ascii=False))
    trust = ("against the keys given" if verified.keys_trusted else
             "against the keys the receipt carries — compare them with the published keys, or pass --key")
    typer.echo(f"verify-receipt: {verified.service} seq {verified.seq} ({verified.type}) is in the log "
               f"{verified.origin} of {verified.tree_size} events, signed by its origin"
               f"{' and co-signed by ' + ', '.join(verified.cosigners) if verified.cosigners else ''}; "
               f"verified {trust}", err=True)
