"""The registry's use cases (ARCHITECTURE rule 6; the same layer name, ``usecases``, in every service).

Between the edge and the pure domain: a router (``api/``) or an event handler (``handlers.py``)
translates HTTP or an event into one call here; the use case loads what it needs, calls the rules
of ``domain/`` (no I/O there), and writes the rows and the events that explain them in the
caller's session — one unit of work (rule 2): the idempotent write route or the consumer commits
it, or rolls it all back. Use cases raise ``shared.errors`` problems (4xx with the field and the
reason); they know nothing of requests and responses.
"""
