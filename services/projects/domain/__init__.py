"""The projects service's pure domain (ARCHITECTURE.md rule 6; DOMAIN.md §5).

* :mod:`.catalogue` - project types with Chinese labels, benefit-linking mechanisms, benefit kinds.
* :mod:`.lifecycle` - the library lifecycle as data: stages, steps with their offices and named
  preconditions, publicity at each level.
* :mod:`.eligibility` - who may be a beneficiary (registered, not removed, inside the division).
* :mod:`.funding` - committed / paid / stranded / remaining from the funds service's postings.
* :mod:`.assets` - ownership at handover and income split by shares (exact fen, largest remainder).
* :mod:`.adjustment` - the fourth-quarter library adjustment.
* :mod:`.proposal` - the consistency of a proposal's budget, sources and schedule.

No database, HTTP or Kafka; the API and handlers load state and call these.
"""
