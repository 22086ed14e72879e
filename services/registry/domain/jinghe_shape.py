"""A synthetic household roll with exactly the shape of 精河县's table (DOMAIN.md §9, seed 003
L191–L193), for the demo loader and the tests.

What the seed gives (and all this module guarantees):

* registered at the end of 2014: 1,767 households / 4,340 persons — 大河沿子镇 633/1,401,
  托里镇 369/890, 八家户农场 315/843, 茫丁乡 332/925, 托托镇 118/281 (seed 003 L191);
* without labour capacity (兜底) 716/1,312, with labour 1,051/3,028 (seed 003 L193);
* exits 2015 343/1,067, 2016 575/1,595, 2017 133/366 (seed 003 L193). These add up to exactly the
  with-labour group (1,051/3,028; the seed: 剩余有劳动能力贫困户708户1961人 after 2015), so here
  every with-labour household exits in one of those years and the 兜底 households do not exit.

The seed does not say how the groups split by township, so the construction is synthetic:

1. *Households by township × group* (groups: without labour, exit 2015, 2016, 2017): a matrix
   whose row sums are the townships' households and whose column sums are the groups' households,
   found by *controlled rounding* — each cell starts at ⌊row × column / total⌋ and the small
   remainders (each row and column is short by less than the number of cells) are placed by the
   north-west-corner rule, which always meets both margins exactly.
2. *Persons*: every household has at least one person; the persons beyond one per household
   ("extra" persons: township persons − households, group persons − households) are split the
   same way into a second matrix. A cell's households share its persons as evenly as possible
   (sizes differ by at most one, larger households first).
3. *Villages*: three synthetic villages per township (``<township>001`` … ``003``); a township's
   households are dealt round-robin to them. Household numbers are ``<village code><4-digit
   sequence>``.
4. Other facts, deterministic and plausible: registered 2014; 兜底 households have every member
   without labour, with-labour households have ``(size − 1) // 2`` members without labour (never
   all of them); each household has a helper and 1 (兜底) or 2 measures; causes rotate through a
   fixed list; no removals, returns or monitoring.

Township codes: :data:`JINGHE_TOWNSHIP_CODES` are the 9-digit prefixes the project uses for these
townships. They follow the 统计用区划代码 pattern under 精河县 (652722) but were not checked against
the official list — treat them (and every village code below them) as synthetic.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from .statistics import HouseholdFacts

__all__ = [
    "JINGHE_COUNTY",
    "JINGHE_EXITS",
    "JINGHE_REGISTERED_YEAR",
    "JINGHE_TOTAL",
    "JINGHE_TOWNSHIP_CODES",
    "JINGHE_TOWNSHIPS",
    "JINGHE_WITHOUT_LABOUR",
    "JINGHE_WITH_LABOUR",
    "VILLAGES_PER_TOWNSHIP",
    "jinghe_households",
]

JINGHE_COUNTY = "652722"
JINGHE_REGISTERED_YEAR = 2014

# township name → (households, persons) at the end of 2014 (seed 003 L191)
JINGHE_TOWNSHIPS: dict[str, tuple[int, int]] = {
    "大河沿子镇": (633, 1401),
    "托里镇": (369, 890),
    "八家户农场": (315, 843),
    "茫丁乡": (332, 925),
    "托托镇": (118, 281),
}
JINGHE_TOTAL = (1767, 4340)  # seed 003 L191
JINGHE_WITHOUT_LABOUR = (716, 1312)  # seed 003 L193
JINGHE_WITH_LABOUR = (1051, 3028)  # seed 003 L193
JINGHE_EXITS: dict[int, tuple[int, int]] = {2015: (343, 1067), 2016: (575, 1595), 2017: (133, 366)}  # seed 003 L193

# Synthetic (see the module docstring): 9-digit township prefixes under 精河县 652722.
JINGHE_TOWNSHIP_CODES: dict[str, str] = {
    "大河沿子镇": "652722101",
    "托里镇": "652722102",
    "八家户农场": "652722400",
    "茫丁乡": "652722201",
    "托托镇": "652722103",
}

VILLAGES_PER_TOWNSHIP = 3

_GROUPS: tuple[int | None, ...] = (None, 2015, 2016, 2017)  # None = without labour (兜底), no exit
_CAUSES_WITHOUT_LABOUR = ("disability", "illness", "lack_labour")
_CAUSES_WITH_LABOUR = (
    "lack_funds",
    "lack_skills",
    "lack_land",
    "illness",
    "schooling",
    "lack_water",
    "lack_motivation",
    "poor_transport",
)


def _controlled_rounding(rows: list[int], cols: list[int]) -> list[list[int]]:
    """A non-negative integer matrix with exactly these row and column sums, close to proportional."""
    total = sum(rows)
    if total != sum(cols):
        raise ValueError(f"margins disagree: rows sum to {total}, columns to {sum(cols)}")
    if total == 0:
        return [[0] * len(cols) for _ in rows]
    cells = [[r * c // total for c in cols] for r in rows]
    row_left = [r - sum(line) for r, line in zip(rows, cells)]
    col_left = [c - sum(line[j] for line in cells) for j, c in enumerate(cols)]
    i = j = 0
    while i < len(rows) and j < len(cols):  # north-west corner on the remainders
        take = min(row_left[i], col_left[j])
        cells[i][j] += take
        row_left[i] -= take
        col_left[j] -= take
        if row_left[i] == 0:
            i += 1
        else:
            j += 1
    assert not any(row_left) and not any(col_left)
    return cells


def _township_prefix(name: str, code: str) -> str:
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        raise ValueError(f"{name}: township code must be digits, got {code!r}")
    if len(code) == 12 and code.endswith("000"):
        code = code[:9]
    if len(code) != 9 or not code.startswith(JINGHE_COUNTY):
        raise ValueError(
            f"{name}: 乡镇代码应为精河县(652722)下的9位前缀 (township code must be a 9-digit prefix "
            f"under 652722, got {code!r})"
        )
    return code


def jinghe_households(
    township_codes: Mapping[str, str] = JINGHE_TOWNSHIP_CODES,
) -> list[HouseholdFacts]:
    """The synthetic 精河县 roll: 1,767 :class:`HouseholdFacts` matching DOMAIN.md §9 exactly.

    ``township_codes`` maps each of the five township names of :data:`JINGHE_TOWNSHIPS` to its
    9-digit code prefix (a 12-digit township code ending in ``000`` is accepted too). The result is
    deterministic: the same codes always give the same households, in township order then group.
    """
    missing = [name for name in JINGHE_TOWNSHIPS if name not in township_codes]
    if missing:
        raise ValueError(f"缺少乡镇代码 (missing township codes for): {', '.join(missing)}")
    prefixes = {name: _township_prefix(name, township_codes[name]) for name in JINGHE_TOWNSHIPS}

    names = list(JINGHE_TOWNSHIPS)
    group_totals = [JINGHE_WITHOUT_LABOUR] + [JINGHE_EXITS[y] for y in _GROUPS[1:] if y is not None]
    row_households = [JINGHE_TOWNSHIPS[n][0] for n in names]
    row_extra = [JINGHE_TOWNSHIPS[n][1] - JINGHE_TOWNSHIPS[n][0] for n in names]
    col_households = [h for h, _ in group_totals]
    col_extra = [p - h for h, p in group_totals]
    household_cells = _controlled_rounding(row_households, col_households)
    extra_cells = _controlled_rounding(row_extra, col_extra)

    result: list[HouseholdFacts] = []
    for t, name in enumerate(names):
        villages = [f"{prefixes[name]}{k:03d}" for k in range(1, VILLAGES_PER_TOWNSHIP + 1)]
        sequence = {v: 0 for v in villages}
        dealt = 0
        for g, exit_year in enumerate(_GROUPS):
            count = household_cells[t][g]
            persons = count + extra_cells[t][g]
            if count == 0:
                if persons:
                    raise AssertionError(f"{name}: persons without households in group {exit_year}")
                continue
            base, bigger = divmod(persons, count)
            for k in range(count):
                size = base + (1 if k < bigger else 0)
                village = villages[dealt % VILLAGES_PER_TOWNSHIP]
                dealt += 1
                sequence[village] += 1
                without_labour_group = exit_year is None
                causes = _CAUSES_WITHOUT_LABOUR if without_labour_group else _CAUSES_WITH_LABOUR
                result.append(
                    HouseholdFacts(
                        household_number=f"{village}{sequence[village]:04d}",
                        division=village,
                        persons=size,
                        persons_without_labour=size if without_labour_group else (size - 1) // 2,
                        registered_year=JINGHE_REGISTERED_YEAR,
                        exit_year=exit_year,
                        removed=False,
                        returned_year=None,
                        monitoring_category=None,
                        has_helper=True,
                        measures=1 if without_labour_group else 2,
                        main_cause=causes[len(result) % len(causes)],
                        status="registered" if without_labour_group else "exited",
                    )
                )
    return result
