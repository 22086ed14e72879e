"""Routing a household to assistance pathways (因户施策): which of the 五个一批 (and the plans'
additions) to propose, given its situation.

What: :func:`propose_pathways` is a pure function from a :class:`Situation` to an ordered list of
:class:`Proposal` (pathway, reason in Chinese, citation). It proposes; a cadre decides and records
the measures. The API uses it to pre-fill an assistance plan, the auditor to re-check one.

Why these rules (DOMAIN.md §3, "Routing rules"), each quoted from the seeds:

* seed 001 §48 (第四十八章 深入实施精准扶贫; the file is a single line, so chapters, not lines) lays
  out every route: 對具有勞動能力、有耕地或其他資源的貧困人口 → 產業扶貧; 對有勞動能力但受制於當地
  發展條件的貧困人口 → 轉移就業; "一方水土養不起一方人"地區 → 易地扶貧搬遷; 生態脆弱或生態保護區、
  但不具備搬遷條件 → 生態補償, 有勞動能力的部分貧困人口轉為護林員; 完全或部分喪失勞動能力 → 低保
  兜底, and 特困人員集中供養 only 在供養對象自願的前提下; 因病致貧 → 醫療保障救助; 發展教育脫貧.
* seed 003 L193 (精河县): households without labour capacity → 社会保障政策兜底; those with
  labour → 发展生产、转移就业、易地搬迁、生态补偿、教育扶持.
* seed 002 L189: 光伏 asset income (资产收益) for 无劳动能力的建档立卡贫困户 — proposed alongside 兜底.
* seed 002 L339 (relocation), L553 (护林员 posts), seed 003 L309 (因学致贫), L363 (因病致贫).

Order: proposals come in the fixed order of :data:`RULE_ORDER` (the order of the rules above),
each pathway at most once, so the same situation always yields the same list.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codes import Cause, Pathway, parse

__all__ = ["RULE_ORDER", "Proposal", "Situation", "propose_pathways"]

RULE_ORDER: tuple[Pathway, ...] = (
    Pathway.INDUSTRY,
    Pathway.EMPLOYMENT,
    Pathway.RELOCATION,
    Pathway.ECOLOGICAL,
    Pathway.SOCIAL_SECURITY,
    Pathway.ASSET_INCOME,
    Pathway.HEALTH,
    Pathway.EDUCATION,
)
"""The order in which proposals are returned."""

CITE_INDUSTRY = "seed 001 §48 (發展特色產業脫貧); seed 003 L193"
CITE_EMPLOYMENT = "seed 001 §48 (加強轉移就業脫貧); seed 003 L193"
CITE_RELOCATION = "seed 001 §48 (實施易地搬遷脫貧); seed 002 L339"
CITE_ECOLOGICAL = "seed 001 §48 (實施生態補償脫貧); seed 002 L553"
CITE_SOCIAL_SECURITY = "seed 001 §48 (農村最低生活保障制度托底脫貧); seed 003 L193"
CITE_ASSET_INCOME = "seed 002 L189"
CITE_HEALTH = "seed 001 §48 (加強醫療保險和醫療救助脫貧); seed 003 L363"
CITE_EDUCATION = "seed 001 §48 (發展教育脫貧); seed 003 L309"


@dataclass(frozen=True)
class Situation:
    """What routing looks at, as recorded in the household's file.

    ``has_labour``: at least one member has labour capacity. ``has_land``: farmland (耕地) to work.
    ``local_resources``: local conditions/resources to develop (not 受制于当地发展条件).
    ``harsh_area``: 一方水土养不起一方人. ``fragile_ecology``: 生态脆弱 or a protected area.
    ``movable``: the household can be relocated (具备搬迁条件). ``lost_labour_capacity``: no
    member has labour capacity (完全丧失劳动能力). ``consents_to_tekun_care``: agrees to 特困人员
    集中供养. ``main_cause``: 致贫原因 (code, label or :class:`Cause`).
    """

    has_labour: bool = False
    has_land: bool = False
    local_resources: bool = False
    harsh_area: bool = False
    fragile_ecology: bool = False
    movable: bool = False
    lost_labour_capacity: bool = False
    consents_to_tekun_care: bool = False
    main_cause: Cause | None = None
    has_school_age_children: bool = False
    has_major_illness: bool = False

    def __post_init__(self) -> None:
        if self.main_cause is not None and not isinstance(self.main_cause, Cause):
            object.__setattr__(self, "main_cause", parse(Cause, self.main_cause))
        if self.has_labour and self.lost_labour_capacity:
            raise ValueError(
                "情况矛盾：有劳动力与全部成员丧失劳动能力不能同时成立 "
                "(inconsistent situation: has_labour and lost_labour_capacity are both true)"
            )


@dataclass(frozen=True)
class Proposal:
    """A proposed pathway with the reason (Chinese) and the rule's citation.

    ``sub_measures`` names the concrete form where the rule distinguishes one: ``dibao`` /
    ``tekun_care`` under social_security, ``ranger_post`` / ``ecological_compensation`` under
    ecological.
    """

    pathway: Pathway
    reason_zh: str
    citation: str
    sub_measures: tuple[str, ...] = ()


def propose_pathways(situation: Situation) -> list[Proposal]:
    """The pathways the routing rules propose for ``situation``, in :data:`RULE_ORDER`, no duplicates.

    Rules (module docstring for the sources):

    1. labour and (land or other local resources) → industry (发展生产);
    2. labour without local resources (受制于当地发展条件) → employment (转移就业);
    3. harsh area (一方水土养不起一方人), or a fragile area the household can leave → relocation;
    4. fragile ecology and not movable → ecological: a 护林员 post if there is labour, otherwise
       生态补偿 payments only;
    5. lost labour capacity → social_security: 低保 兜底, and 特困人员集中供养 only if the household
       consents; plus asset_income (资产收益, e.g. 光伏 dividends, seed 002 L189);
    6. illness as the main cause, or a member with a major illness → health (健康扶贫);
    7. schooling as the main cause, or school-age children → education (发展教育).

    One function on purpose: the seven rules read top to bottom as the policy states them, each a
    condition and its proposal; split, the order that decides between them would be lost.
    """
    s = situation
    found: dict[Pathway, Proposal] = {}

    def propose(pathway: Pathway, reason: str, citation: str, sub: tuple[str, ...] = ()) -> None:
        found.setdefault(pathway, Proposal(pathway, reason, citation, sub))

    if s.has_labour and (s.has_land or s.local_resources):
        what = "有耕地" if s.has_land else "有其他资源"
        propose(Pathway.INDUSTRY, f"有劳动能力、{what}：发展特色产业脱贫", CITE_INDUSTRY)
    if s.has_labour and not s.local_resources:
        propose(Pathway.EMPLOYMENT, "有劳动能力但受制于当地发展条件：转移就业脱贫", CITE_EMPLOYMENT)
    if s.harsh_area:
        propose(Pathway.RELOCATION, "居住在一方水土养不起一方人的地区：易地扶贫搬迁", CITE_RELOCATION)
    elif s.fragile_ecology and s.movable:
        propose(Pathway.RELOCATION, "居住在生态环境脆弱地区且具备搬迁条件：易地扶贫搬迁", CITE_RELOCATION)
    if s.fragile_ecology and not s.movable:
        if s.has_labour:
            propose(
                Pathway.ECOLOGICAL,
                "居住在生态脆弱地区、不具备搬迁条件：生态补偿，有劳动能力的转为护林员等生态保护人员",
                CITE_ECOLOGICAL,
                ("ranger_post",),
            )
        else:
            propose(
                Pathway.ECOLOGICAL,
                "居住在生态脆弱地区、不具备搬迁条件：生态补偿",
                CITE_ECOLOGICAL,
                ("ecological_compensation",),
            )
    if s.lost_labour_capacity:
        if s.consents_to_tekun_care:
            propose(
                Pathway.SOCIAL_SECURITY,
                "丧失劳动能力：纳入农村低保兜底；本人自愿，纳入特困人员集中供养",
                CITE_SOCIAL_SECURITY,
                ("dibao", "tekun_care"),
            )
        else:
            propose(
                Pathway.SOCIAL_SECURITY,
                "丧失劳动能力：纳入农村低保兜底(特困人员集中供养须本人自愿，未同意)",
                CITE_SOCIAL_SECURITY,
                ("dibao",),
            )
        propose(Pathway.ASSET_INCOME, "无劳动能力：资产收益扶贫(如光伏收益)增加收入", CITE_ASSET_INCOME)
    if s.main_cause is Cause.ILLNESS or s.has_major_illness:
        why = "因病致贫" if s.main_cause is Cause.ILLNESS else "家庭成员患大病"
        propose(Pathway.HEALTH, f"{why}：健康扶贫，医疗保障救助", CITE_HEALTH)
    if s.main_cause is Cause.SCHOOLING or s.has_school_age_children:
        why = "因学致贫" if s.main_cause is Cause.SCHOOLING else "有适龄在学子女"
        propose(Pathway.EDUCATION, f"{why}：教育扶贫资助", CITE_EDUCATION)

    return [found[p] for p in RULE_ORDER if p in found]
