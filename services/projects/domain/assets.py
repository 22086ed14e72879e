"""Assets handed over at the end of a project (资产移交) and the distribution of their income.

Ownership (seed 002 L762): public-good assets (农村饮水、垃圾处理 …) and productive facilities
belong to the village collective; assets formed with fiscal money in 设施农业、养殖、光伏 … may
be quantified as shares to registered poor households (折股量化, seed 002 L289, seed 003 L245),
with a named operator responsible for keeping their value (保值增值) and an income-distribution
mechanism so that the income reaches the shareholding households.

Income is split by shares with exact fen arithmetic: each holder gets the integer part of its
quota, and the fen left over go one each to the largest fractional remainders (ties: the order
the shares are listed in), so the parts always add up to the amount. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Sequence

COLLECTIVE = "collective"  # the village collective as a shareholder


class AssetError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Share:
    holder: str  # COLLECTIVE or a registry household id
    shares: int  # share units (股)


def split(total_fen: int, shares: Sequence[Share]) -> list[tuple[str, int]]:
    """``total_fen`` split by share units, largest remainder; the parts sum to ``total_fen``."""
    if isinstance(total_fen, bool) or not isinstance(total_fen, int) or total_fen < 0:
        raise AssetError("amount", f"金额须为非负整数分 (amount must be a non-negative int of fen, got {total_fen!r})")
    check_shares(shares)
    units = sum(s.shares for s in shares)
    parts: list[list[Any]] = []  # [holder, fen]
    remainders: list[tuple[Fraction, int]] = []
    for index, share in enumerate(shares):
        whole, rest = divmod(total_fen * share.shares, units)
        parts.append([share.holder, whole])
        remainders.append((-Fraction(rest, units), index))
    for _, index in sorted(remainders)[:total_fen - sum(p[1] for p in parts)]:
        parts[index][1] += 1
    return [(holder, amount) for holder, amount in parts]


def ratio_percent(share: Share, shares: Sequence[Share]) -> str:
    """A holder's share ratio as a percent string with two decimals (display only; rounded half up)."""
    ratio = Fraction(share.shares * 100, sum(s.shares for s in shares))
    hundredths = (ratio * 100 + Fraction(1, 2)).__floor__()
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def check_shares(shares: Sequence[Share]) -> None:
    if not shares:
        raise AssetError("shares", "至少一名股东 (at least one shareholder)")
    seen = set()
    for share in shares:
        if isinstance(share.shares, bool) or not isinstance(share.shares, int) or share.shares <= 0:
            raise AssetError("shares", f"股数须为正整数 (share units must be a positive int: {share.holder})")
        if share.holder in seen:
            raise AssetError("shares", f"股东重复 (shareholder listed twice: {share.holder})")
        seen.add(share.holder)


def check_ownership(kind: str, owner: str, shares: Sequence[Share], beneficiaries: set[str],
                    allowed_owners: Mapping[str, Sequence[str]]) -> list[Share]:
    """The asset's shareholders, validated. ``allowed_owners`` is the policy rule
    project.assets.ownership (kind → owners): a public-good asset belongs to the village
    collective alone (seed 002 L762); an asset quantified to households has household
    shareholders who are the project's beneficiaries (the registered poor households it drives;
    seed 002 L289), and the collective may hold a part. Returns the shares (the collective's 100%
    for a collective asset)."""
    if kind not in ("public_good", "productive"):
        raise AssetError("kind", f"资产类别无效 (kind must be public_good or productive, got {kind!r})")
    if owner not in allowed_owners.get(kind, ()):
        raise AssetError("owner", f"{'公益性' if kind == 'public_good' else '经营性'}资产的权属只能是"
                                  f"{'、'.join(allowed_owners.get(kind, ()))} (owner {owner!r} is not allowed for {kind})")
    if owner == "village_collective":
        if any(s.holder != COLLECTIVE for s in shares):
            raise AssetError("shares", "村集体所有的资产不折股到户 (a collective asset has no household shares)")
        return [Share(COLLECTIVE, 1)]
    check_shares(shares)
    households = [s for s in shares if s.holder != COLLECTIVE]
    if not households:
        raise AssetError("shares", "折股量化须有到户股份 (quantified shares need at least one household)")
    strangers = [s.holder for s in households if s.holder not in beneficiaries]
    if strangers:
        raise AssetError("shares", f"股东须为本项目受益的建档立卡户 (shareholders must be the project's beneficiaries: "
                                   f"{', '.join(strangers)})")
    return list(shares)
