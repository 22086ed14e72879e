"""One definition per closed vocabulary (code list): each code with its Chinese and English label
and the other spellings an import accepts for it.

What: a :class:`Vocabulary` is an ordered tuple of :class:`Code` (``code``, ``zh``, ``en``,
``spellings``). Everything else is derived from it, so a code list is written once:

* the API enum: ``Literal[vocabulary.codes]`` (:attr:`Vocabulary.codes` is a tuple of strings);
* the import's accepted spellings: :meth:`Vocabulary.spellings` (code, Chinese label and every
  variant found in real spreadsheets → code);
* catalogue labels: :meth:`Vocabulary.catalogue` (``[{"code", "zh", "en"}]``) and :meth:`label`.

Why: codes, never free text, so that statistics, the auditor's rebuild and other departments'
clients agree on what a value means; one definition, so that the router, the import and the
catalogue cannot drift apart (issue 17). Pure data: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["Code", "Vocabulary"]


@dataclass(frozen=True)
class Code:
    """One code of a vocabulary: ``code`` is stored in rows and events; ``zh`` is shown to people
    and printed on announcements; ``en`` is the English label; ``spellings`` are other ways a
    spreadsheet writes it (never shown, only accepted)."""

    code: str
    zh: str
    en: str
    spellings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Vocabulary:
    """A closed code list in declaration order. ``name`` is its stable key (e.g. ``cause``);
    ``zh`` / ``en`` name the list itself (e.g. 致贫原因 / cause of poverty)."""

    name: str
    zh: str
    en: str
    items: tuple[Code, ...]
    _by_code: dict[str, Code] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code = {c.code: c for c in self.items}
        if len(by_code) != len(self.items):
            raise ValueError(f"{self.name}: a code is listed twice")
        accepted: dict[str, str] = {}
        for c in self.items:
            for spelling in (c.code, c.zh, *c.spellings):
                if accepted.setdefault(spelling, c.code) != c.code:
                    raise ValueError(f"{self.name}: {spelling!r} spells both {accepted[spelling]} and {c.code}")
        object.__setattr__(self, "_by_code", by_code)

    @classmethod
    def of(cls, name: str, zh: str, en: str, items: Iterable[Code | tuple]) -> Vocabulary:
        """``Vocabulary.of("cause", "致贫原因", "cause", [("illness", "因病", "illness"), …])``."""
        return cls(name, zh, en, tuple(c if isinstance(c, Code) else Code(*c) for c in items))

    def __iter__(self) -> Iterator[Code]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __getitem__(self, code: str) -> Code:
        return self._by_code[code]

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes in order: ``Literal[vocabulary.codes]`` is the API enum."""
        return tuple(c.code for c in self.items)

    def label(self, code: str) -> str:
        """The Chinese label of ``code`` (the code itself when unknown, e.g. a value of an older list)."""
        found = self._by_code.get(code)
        return found.zh if found else code

    def spellings(self) -> dict[str, str]:
        """Every accepted way of writing a code → the code: the code itself, the Chinese label and
        the listed spellings."""
        return {spelling: c.code for c in self.items for spelling in (c.code, c.zh, *c.spellings)}

    def parse(self, value: object) -> str:
        """The code ``value`` names (a code, Chinese label or spelling); a bilingual ``ValueError``
        listing the allowed codes otherwise."""
        if isinstance(value, str) and (code := self.spellings().get(value)) is not None:
            return code
        allowed = ", ".join(f"{c.code} ({c.zh})" for c in self.items)
        raise ValueError(f"无效代码 {value!r}，{self.zh}允许的代码为：{allowed} "
                         f"(invalid code {value!r} for {self.en}; allowed codes: {', '.join(self.codes)})")

    def catalogue(self) -> dict[str, object]:
        """The list as a catalogue entry: ``{"name", "zh", "en", "codes": [{"code", "zh", "en"}]}``."""
        return {"name": self.name, "zh": self.zh, "en": self.en, "codes": [c.as_dict() for c in self.items]}
