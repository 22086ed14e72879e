"""The versioned policy rule table: parse, validate, merge and look up rules (no I/O beyond
reading the YAML files, no database).

A rule is keyed by (id, jurisdiction, effective_from). ``load_policy`` reads the shipped
``rules.yaml`` and then each deployment file in order; a later rule with the same key replaces the
earlier one, anything else is added. ``PolicyTable.lookup`` picks, among the rules with that id in
force on the date whose jurisdiction prefixes the division code, the most specific one — unless the
precedence policy of the table (rule ``policy.precedence``, 《立法法》: 上位法优于下位法, 新法优于旧法)
says a rule of a superior authority (a national law, ``authority: law``) that came into force
after it wins (e.g. 预算法 (2014年修正) Art. 52, in force 2015-01-01, over Shanxi's 2014 rule).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "AUTHORITIES",
    "PRECEDENCE_RULE",
    "SHIPPED_RULES",
    "NoRuleError",
    "PolicyError",
    "PolicyTable",
    "Rule",
    "load_policy",
    "load_rules_file",
    "parse_rules",
]

SHIPPED_RULES = Path(__file__).with_name("rules.yaml")

_REQUIRED_KEYS = ("id", "jurisdiction", "effective_from", "value", "citation", "title")
_OPTIONAL_KEYS = ("effective_to", "authority")
#: what a rule's ``authority`` may say (the rank of its source; absent: a normative document or plan)
AUTHORITIES = ("law", "administrative_regulation", "departmental_rule", "local_rule")
PRECEDENCE_RULE = "policy.precedence"
_ALLOWED_KEYS = frozenset(_REQUIRED_KEYS + _OPTIONAL_KEYS)
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# 统计用区划代码: 2 province + 2 city + 2 county + 3 township + 3 village
_JURISDICTION_LENGTHS = (0, 2, 4, 6, 9, 12)


class PolicyError(ValueError):
    """A malformed rule table. The message names the file and the rule."""


class NoRuleError(LookupError):
    """No rule with that id applies to that division on that date."""

    def __init__(self, rule_id: str, division: str, on: date, detail: str = "") -> None:
        self.rule_id = rule_id
        self.division = division
        self.on = on
        message = f"no policy rule {rule_id!r} applies to division {division!r} on {on.isoformat()}"
        super().__init__(f"{message} ({detail})" if detail else message)


@dataclass(frozen=True)
class Rule:
    id: str
    jurisdiction: str
    effective_from: date
    effective_to: date | None
    value: Any
    citation: str
    title: str
    source: str = field(default="", compare=False)  # the file the rule was read from
    authority: str | None = None  # one of AUTHORITIES: the rank of the rule's source (None: not ranked)

    @property
    def key(self) -> tuple[str, str, date]:
        """What a later file must repeat to replace this rule."""
        return (self.id, self.jurisdiction, self.effective_from)

    def applies_on(self, day: date) -> bool:
        day = _as_day(day)
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def covers(self, division_code: str) -> bool:
        if not isinstance(division_code, str):
            raise TypeError(f"division code must be a str, not {type(division_code).__name__}")
        return division_code.startswith(self.jurisdiction)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO strings), e.g. to record in an event which rule applied."""
        return {
            "id": self.id,
            "jurisdiction": self.jurisdiction,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "value": _jsonable(self.value),
            "citation": self.citation,
            "title": self.title,
            **({"authority": self.authority} if self.authority else {}),
        }

    def __str__(self) -> str:
        where = self.jurisdiction or "national"
        until = self.effective_to.isoformat() if self.effective_to else "…"
        return f"{self.id}@{where} [{self.effective_from.isoformat()}..{until}]"


class PolicyTable:
    """An immutable collection of rules with most-specific-wins lookup."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: tuple[Rule, ...] = tuple(rules)
        self._by_id: dict[str, list[tuple[int, Rule]]] = {}
        for order, rule in enumerate(self._rules):
            self._by_id.setdefault(rule.id, []).append((order, rule))

    def lookup(self, rule_id: str, division: str, on: date) -> Rule:
        """The rule ``rule_id`` in force on ``on`` for ``division`` (a 12-digit code or a prefix).

        The longest matching jurisdiction wins; on a tie the later effective_from, then the rule
        loaded later — unless the precedence policy (:meth:`explain`) lets a superior rule that
        came into force later win. Raises :class:`NoRuleError` when none applies.
        """
        return self.explain(rule_id, division, on)["rule"]

    def explain(self, rule_id: str, division: str, on: date) -> dict[str, Any]:
        """The rule that applies and why: ``{"rule", "overrides", "precedence"}``.

        ``overrides``: the more specific rules in force that it set aside; ``precedence``: the
        ``policy.precedence`` rule that decided so (``None`` when the most specific rule won).
        The precedence policy (value ``{superior: [authority…], newer_superior_wins: true}``):
        a rule whose ``authority`` is listed in ``superior`` and whose ``effective_from`` is after
        that of the most specific rule — which is not itself of a superior authority — wins over it
        (上位法优于下位法, 新法优于旧法: a national law in force wins where a local rule is older).
        """
        day = _as_day(on)
        if not isinstance(division, str) or not (division == "" or division.isdigit()):
            raise ValueError(f"division must be a string of digits, got {division!r}")
        entries = self._by_id.get(rule_id, [])
        ranked = sorted(((len(rule.jurisdiction), rule.effective_from, order), rule) for order, rule in entries
                        if rule.covers(division) and rule.applies_on(day))
        if not ranked:
            raise NoRuleError(rule_id, division, day, self._why_none(rule_id, division, entries))
        best = ranked[-1][1]
        precedence = self._precedence(day) if rule_id != PRECEDENCE_RULE else None
        if precedence is not None:
            superior = set(precedence.value.get("superior", ()))
            if precedence.value.get("newer_superior_wins") and best.authority not in superior:
                newer = [rule for _, rule in ranked if rule.authority in superior
                         and rule.effective_from > best.effective_from]
                if newer:
                    winner = newer[-1]
                    return {"rule": winner, "precedence": precedence,
                            "overrides": [rule for _, rule in ranked if rule is not winner
                                          and len(rule.jurisdiction) >= len(winner.jurisdiction)
                                          and rule.authority not in superior]}
        return {"rule": best, "overrides": [], "precedence": None}

    def _precedence(self, day: date) -> Rule | None:
        for _, rule in sorted(self._by_id.get(PRECEDENCE_RULE, []), key=lambda e: (e[1].effective_from, e[0]),
                              reverse=True):
            if rule.jurisdiction == "" and rule.applies_on(day):
                return rule
        return None

    def value(self, rule_id: str, division: str, on: date) -> Any:
        return self.lookup(rule_id, division, on).value

    def all(self, rule_id: str | None = None) -> list[Rule]:
        rules = self._rules if rule_id is None else [r for _, r in self._by_id.get(rule_id, [])]
        return sorted(rules, key=lambda r: (r.id, r.jurisdiction, r.effective_from))

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    @staticmethod
    def _why_none(rule_id: str, division: str, entries: list[tuple[int, Rule]]) -> str:
        if not entries:
            return "the table has no rule with this id"
        covering = [r for _, r in entries if r.covers(division)]
        if not covering:
            where = sorted({repr(r.jurisdiction) for _, r in entries})
            return f"rules exist only for jurisdictions {', '.join(where)}"
        spans = ", ".join(
            f"{r.jurisdiction or 'national'} {r.effective_from.isoformat()}.."
            f"{r.effective_to.isoformat() if r.effective_to else ''}"
            for r in sorted(covering, key=lambda r: (r.effective_from, r.jurisdiction))
        )
        return f"none in force on that date; covering rules: {spans}"


# --------------------------------------------------------------------------------------------
# parsing and validation
# --------------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys in a mapping (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_rules(text: str, source: str = "<string>") -> list[Rule]:
    """Parse and validate one rule file's text. Raises :class:`PolicyError`."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise PolicyError(f"{source}: a rule file must be a YAML list of rules, got {type(data).__name__}")
    rules = [_parse_entry(entry, index, source) for index, entry in enumerate(data, start=1)]
    _check_overlaps(rules, source)
    return rules


def load_rules_file(path: str | Path) -> list[Rule]:
    """Read and validate one rule file. Raises :class:`PolicyError` (also when unreadable)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{p}: cannot read policy file: {exc}") from exc
    return parse_rules(text, str(p))


def _parse_entry(entry: Any, index: int, source: str) -> Rule:
    if not isinstance(entry, dict):
        raise PolicyError(f"{source}: rule #{index}: must be a mapping, got {type(entry).__name__}")
    rule_id = entry.get("id")
    label = f"rule #{index} ({rule_id!r}, jurisdiction {entry.get('jurisdiction')!r})"

    def fail(problem: str) -> PolicyError:
        return PolicyError(f"{source}: {label}: {problem}")

    unknown = sorted(str(k) for k in entry if k not in _ALLOWED_KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_ALLOWED_KEYS))}")
    missing = [k for k in _REQUIRED_KEYS if k not in entry]
    if missing:
        raise fail(f"missing key(s) {', '.join(missing)}")

    if not isinstance(rule_id, str) or not _ID_RE.match(rule_id):
        raise fail("id must be a dotted lower-case identifier such as 'announcement.min_period'")

    jurisdiction = entry["jurisdiction"]
    if not isinstance(jurisdiction, str):
        raise fail(f"jurisdiction must be a quoted string of digits (e.g. \"65\"), got {jurisdiction!r}")
    if jurisdiction and not (jurisdiction.isascii() and jurisdiction.isdigit()):
        raise fail(f"jurisdiction {jurisdiction!r} is not a division-code prefix (digits only)")
    if len(jurisdiction) not in _JURISDICTION_LENGTHS:
        raise fail(
            f"jurisdiction {jurisdiction!r} has {len(jurisdiction)} digits; a division-code prefix "
            f"has {', '.join(map(str, _JURISDICTION_LENGTHS))} digits"
        )

    effective_from = _parse_date(entry["effective_from"], "effective_from", fail)
    if effective_from is None:
        raise fail("effective_from must be a date (YYYY-MM-DD), not null")
    effective_to = _parse_date(entry.get("effective_to"), "effective_to", fail)
    if effective_to is not None and effective_to < effective_from:
        raise fail(
            f"effective_to {effective_to.isoformat()} is before effective_from {effective_from.isoformat()}"
        )

    citation = entry["citation"]
    if not isinstance(citation, str) or not citation.strip():
        raise fail("citation is empty: give a document number, 'seed 00N Lnnn' or 'DOMAIN.md §N'")
    title = entry["title"]
    if not isinstance(title, str) or not title.strip():
        raise fail("title is empty")

    authority = entry.get("authority")
    if authority is not None and authority not in AUTHORITIES:
        raise fail(f"authority {authority!r} is not one of {', '.join(AUTHORITIES)}")

    value = entry["value"]
    if value is None:
        raise fail("value is missing (null)")
    problem = _check_value(value, "value")
    if problem:
        raise fail(problem)

    return Rule(
        id=rule_id,
        jurisdiction=jurisdiction,
        effective_from=effective_from,
        effective_to=effective_to,
        value=value,
        citation=citation.strip(),
        title=title.strip(),
        source=source,
        authority=authority,
    )


def _parse_date(raw: Any, key: str, fail) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        raise fail(f"{key} must be a date without a time, got {raw!r}")
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise fail(f"{key} {raw!r} is not a date (YYYY-MM-DD)")


def _check_value(value: Any, path: str) -> str | None:
    """Money is integer fen and nothing is a float (ARCHITECTURE.md rule 8)."""
    if isinstance(value, float):
        return f"{path} is a float ({value!r}); use integer fen, integer percent or a decimal string"
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path} has a non-string key {k!r}"
            sub = f"{path}.{k}"
            if k.endswith("_fen") and v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                return f"{sub} must be an integer number of fen, got {v!r}"
            problem = _check_value(v, sub)
            if problem:
                return problem
    elif isinstance(value, list):
        for i, v in enumerate(value):
            problem = _check_value(v, f"{path}[{i}]")
            if problem:
                return problem
    return None


def _check_overlaps(rules: list[Rule], source: str) -> None:
    groups: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        groups.setdefault((rule.id, rule.jurisdiction), []).append(rule)
    for (rule_id, jurisdiction), group in groups.items():
        group.sort(key=lambda r: r.effective_from)
        for earlier, later in zip(group, group[1:]):
            if earlier.effective_to is None or later.effective_from <= earlier.effective_to:
                raise PolicyError(
                    f"{source}: rule {rule_id!r} (jurisdiction {jurisdiction!r}) has overlapping "
                    f"effective ranges: {earlier} and {later}"
                )


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _shipped_rules() -> tuple[Rule, ...]:
    return tuple(load_rules_file(SHIPPED_RULES))


def load_policy(extra_files: Sequence[str | Path] = ()) -> PolicyTable:
    """The shipped table, overridden by each of ``extra_files`` in order.

    A rule whose (id, jurisdiction, effective_from) equals an earlier one replaces it; other rules
    are added. Each call returns a fresh table whose rule values are private copies.
    """
    if isinstance(extra_files, (str, Path)):
        extra_files = [extra_files]
    merged: dict[tuple[str, str, date], Rule] = {rule.key: rule for rule in _shipped_rules()}
    for path in extra_files:
        for rule in load_rules_file(path):
            merged.pop(rule.key, None)  # re-insert so the override also ranks as loaded later
            merged[rule.key] = rule
    return PolicyTable(copy.deepcopy(list(merged.values())))


# --------------------------------------------------------------------------------------------


def _as_day(day: date) -> date:
    if isinstance(day, datetime):
        return day.date()
    if not isinstance(day, date):
        raise TypeError(f"expected a date, got {type(day).__name__}")
    return day


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
