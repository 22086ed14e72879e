"""The funds service's published event shapes, as other services and the auditor read them.

Every posting is in an event. Version 1: one event per posting, of the type named for its
operation (``EVENT_TYPES``); ``data`` is the posting (``Posting.as_dict``: ``posting_id``, ``from``
and ``to`` account keys, ``amount_fen``, ``operation``, ``document_no``, ``document_date``,
``actor``, ``purpose``, ``reference``) plus ``amount`` (yuan string), ``on`` (document date) and
operation-specific extras. The project of a posting: ``reference`` of a commitment (``to`` is the
project's ``committed`` account), ``project_code`` of a disbursement (which also carries ``payee``
{kind: enterprise|cooperative|household|contractor, name, household_id?} and ``reference``, its
line reference or payee) and of a stranding (``from`` is the project's ``committed`` account).

Readers go through :func:`postings_of`, so a later shape (several postings in one event) only
changes this module.
"""

from __future__ import annotations

from typing import Any, Mapping

EVENT_TYPES: dict[str, str] = {
    "appropriate": "funds.appropriation.posted",
    "allocate": "funds.allocation.issued",
    "integrate": "funds.integration.posted",
    "commit": "funds.commitment.posted",
    "disburse": "funds.disbursement.posted",
    "strand": "funds.stranding.posted",
    "return": "funds.return.posted",
    "reallocate": "funds.reallocation.posted",
}
POSTING_EVENT_TYPES = frozenset(EVENT_TYPES.values())


def postings_of(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The postings an event of the funds service carries (none for its other events), each as
    the posting's data: ``from``/``to`` keys, ``amount_fen``, ``operation``, ``reference``, ``payee`` …"""
    if event["type"] in POSTING_EVENT_TYPES:
        return [event["data"]]
    return []
