"""Citations as people read them: the real documents, never the project's internal files.

The policy table (rules.yaml) cites the planning documents the system was built from as
``seed 00N Lnnn`` (checkable line references, for developers) and handbook statements as
``DOMAIN.md §N``. Anything a person reads — a refusal, a catalogue, a finding, a board — names
the document instead: the seed plans by their titles, and nothing for a handbook statement
(it is the system's own default, said as such when nothing else is cited). Pure, no I/O.
"""

from __future__ import annotations

import re

__all__ = ["SEED_TITLES", "SYSTEM_DEFAULT", "public_citation", "public_text"]

#: The planning documents behind the seeds, by seed number (their titles as published).
SEED_TITLES = {
    "000": "《贵州省“十三五”脱贫攻坚专项规划》",
    "001": "《云南省国民经济和社会发展第十三个五年规划纲要》第十一篇“坚决打赢脱贫攻坚战”",
    "002": "《河北省“十三五”脱贫攻坚规划》",
    "003": "《精河县“十三五”脱贫攻坚规划》(征求意见稿)",
    "004": "山西省《关于创新机制扎实推进农村扶贫开发工作的实施意见》(2014年)",
}
SYSTEM_DEFAULT = "本系统默认规则 (system default; a deployment overrides it with its own document)"

_SEED = re.compile(r"seed (\d{3})(?: L\d+(?:/L?\d+)*| §\d+)?")
_HANDBOOK = re.compile(r"(?:DOMAIN(?:\.md)?|ARCHITECTURE(?:\.md)?) ?§ ?\d+(?:\.\d+)?")


def public_citation(citation: str | None) -> str | None:
    """``"seed 003 L193; DOMAIN.md §3"`` → ``"《精河县“十三五”脱贫攻坚规划》(征求意见稿)"``: each part
    of a ``;``-separated citation named as a person can find it; repeated documents once."""
    if citation is None:
        return None
    parts: list[str] = []
    for part in (p.strip() for p in citation.split(";")):
        seed = _SEED.fullmatch(part)
        named = SEED_TITLES.get(seed.group(1), "") if seed else _HANDBOOK.sub("", public_text(part)).strip(" ,;")
        if named and named not in parts:
            parts.append(named)
    return "; ".join(parts) or SYSTEM_DEFAULT


def public_text(text: str) -> str:
    """Free text with any internal reference in it replaced: seed references by the document's
    title, handbook references removed."""
    text = _SEED.sub(lambda m: SEED_TITLES.get(m.group(1), ""), text)
    handbook = _HANDBOOK.pattern
    for pattern in (r";\s*" + handbook, handbook + r"\s*;\s*", r"\s*[(（]\s*" + handbook + r"\s*[)）]",
                    r"\s*[—–-]+\s*" + handbook,
                    r"\s*" + handbook):
        text = re.sub(pattern, "", text)
    return text
