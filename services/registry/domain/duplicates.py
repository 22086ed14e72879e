"""Duplicate screening (查重): which registered persons may be the same as a new one.

An exact ID number is already refused by the registry (one active household per person); this
finds the rest — the same person under a mistyped ID number, or registered twice under two names
written differently — and only *flags* them: a candidate is reviewed by an official, never merged
here.

Two persons are a candidate pair when

* **the ID numbers' first 17 digits differ by one edit** — one wrong digit or two neighbours
  swapped (optimal string alignment distance ≤ 1; the 18th is a check digit recomputed by whoever
  mistyped) — and the normalised names are at least :data:`NAME_WITH_CLOSE_ID` similar (rapidfuzz
  ratio: a two-character name must match whole, a three-character one in two characters); or
* the **normalised names are the same** (traditional characters read as simplified, spaces and
  middle dots dropped), with the same birth date and sex, in the same county (ID numbers
  differing anywhere).

Blocking keeps this from being O(n·m): a pair is compared only if it shares a block — the birth
date (digits 7–14 intact: a typo in the region or sequence digits; and every same-name pair), the
region and sequence digits (1–6, 15–17) with the birth year (a typo in the month or day), or with
the month and day (a typo in the year). Any single mistyped digit, and any swap of neighbours but
one across the year/month boundary (which rarely leaves a real date), keeps one block intact. (The
region and sequence digits alone would not do: a county has one region code and 1,000 sequence
numbers, so each such block would hold a thousandth of the county.)

The score (0–100) orders the review list: name similarity, ID closeness, same birth date, same
village. Pure: no database, HTTP or Kafka.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Iterator, NamedTuple

import zhconv
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from shared.vocabulary import Vocabulary

#: a candidate pair's review state (GET /catalogue)
STATUS = Vocabulary.of("duplicate_status", "疑似重复核实状态", "duplicate candidate status", [
    ("open", "待核实", "open"), ("not_duplicate", "核实非重复", "not a duplicate"),
    ("confirmed", "确认重复", "confirmed duplicate")])

#: name similarity (rapidfuzz ratio, 0–100) needed alongside an ID number one edit away
NAME_WITH_CLOSE_ID = 60
#: name similarity that counts as the same name
SAME_NAME = 100
#: Traditional → simplified character by character (zhconv's zh-cn table, its one-character
#: entries: names are read character by character), with spaces and middle dots dropped.
_SIMPLIFY = str.maketrans({**{k: v for k, v in zhconv.zhconv.getdict("zh-cn").items() if len(k) == len(v) == 1},
                           **dict.fromkeys(" \u3000·•.．・-")})


def normalise_name(name: str) -> str:
    """Simplified characters, full-width folded (NFKC), spaces and middle dots dropped."""
    return unicodedata.normalize("NFKC", name).translate(_SIMPLIFY)


class PersonKey(NamedTuple):
    """What screening compares of a person (the parts of the ID number taken apart once; a tuple:
    a million of them are built per screening)."""

    id: str
    id_number: str
    name: str  # normalised
    village: str
    birth: str  # YYYYMMDD, digits 7–14
    sex: int  # digit 17 mod 2
    blocks: tuple[str, str, str]

    @classmethod
    def of(cls, id: str, id_number: str, name: str, village: str) -> PersonKey:
        number = id_number.upper()
        region_sequence = number[:6] + number[14:17]
        blocks = ("b" + number[6:14], "y" + region_sequence + number[6:10], "d" + region_sequence + number[10:14])
        return cls(str(id), number, normalise_name(name), village, number[6:14],
                   int(number[16]) % 2 if number[16].isdigit() else -1, blocks)


@dataclass(frozen=True)
class Candidate:
    person: PersonKey  # the new one
    other: PersonKey  # the registered one
    score: int
    reasons: tuple[str, ...]


def compare(new: PersonKey, other: PersonKey) -> Candidate | None:
    """The pair as a candidate, or None. The cheap tests first: most pairs of a block share only
    their birth date and leave at the ID-distance test."""
    if new.id_number == other.id_number or new.id == other.id:
        return None
    same_birth, same_sex = new.birth == other.birth, new.sex == other.sex
    same_person = (new.name == other.name and same_birth and same_sex and new.village[:6] == other.village[:6])
    id_edits = OSA.distance(new.id_number[:17], other.id_number[:17], score_cutoff=1)
    if not same_person and id_edits > 1:
        return None
    name = fuzz.ratio(new.name, other.name)
    if not same_person and name < NAME_WITH_CLOSE_ID:
        return None
    reasons = [r for r, holds in (
        ("id_number_one_edit", id_edits <= 1), ("same_name" if name >= SAME_NAME else "similar_name", True),
        ("same_birth_date", same_birth), ("same_sex", same_sex), ("same_village", new.village == other.village))
        if holds]
    score = round(0.5 * name + 30 * (id_edits <= 1) + 10 * same_birth + 5 * same_sex + 5 * (new.village == other.village))
    return Candidate(new, other, min(score, 100), tuple(reasons))


class Index:
    """Registered persons by block; :meth:`screen` finds the candidates of one new person."""

    def __init__(self, persons: Iterable[PersonKey] = ()):
        self._blocks: dict[str, list[PersonKey]] = defaultdict(list)
        for person in persons:
            self.add(person)

    def add(self, person: PersonKey) -> None:
        for block in person.blocks:
            self._blocks[block].append(person)

    def screen(self, person: PersonKey) -> list[Candidate]:
        seen: set[str] = set()
        found = []
        for block in person.blocks:
            for other in self._blocks.get(block, ()):
                if other.id in seen:
                    continue
                seen.add(other.id)
                if (candidate := compare(person, other)) is not None:
                    found.append(candidate)
        return sorted(found, key=lambda c: -c.score)


def screen(new: Iterable[PersonKey], registered: Iterable[PersonKey]) -> Iterator[Candidate]:
    """Candidates of each new person among the registered and the new ones before it (a person
    listed twice in one file is caught too)."""
    index = Index(registered)
    for person in new:
        yield from index.screen(person)
        index.add(person)


def name_variants(name: str) -> set[str]:
    """The spellings under which a name may be stored: as given, simplified, traditional."""
    plain = unicodedata.normalize("NFKC", name).strip()
    return {plain, *(zhconv.convert(plain, variant) for variant in ("zh-cn", "zh-tw", "zh-hk"))}
