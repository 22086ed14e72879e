"""Fund channels (资金来源 / 原管理渠道, DOMAIN.md §4).

Every yuan keeps its channel for life: allocation, integration into a county pool, commitment,
disbursement, return of stranded funds and re-allocation all keep it (seed 004 L27: returns go
back "through the original channel"). A channel here is a code with its Chinese label and three
facts the pure rules use:

* ``origin`` - the level whose budget the money comes from (``central`` / ``provincial`` /
  ``city`` / ``county`` / ``other``); the deadline rules pick the onward-allocation rule by it
  (中央 funds: ``funds.deadline.central_onward``; 省级 funds: ``funds.deadline.provincial_onward``).
* ``source_level`` - where an appropriation of the channel must be booked, when that is fixed
  (中央财政专项扶贫资金 only by the centre, 省级 only by a province, …); ``None`` = any level
  (e.g. 东西部协作 money arrives at whichever division the partner agreement names).
* ``integrable`` - whether a county may put it into an integration pool under
  统筹整合使用财政涉农资金 (国办发〔2016〕22号): the special poverty funds of every level and the
  agriculture-related channels are, paired-assistance, donations, relocation, interest-subsidy and
  risk-compensation funds are not.

Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shared.divisions import Level

__all__ = ["CHANNELS", "CHANNEL_LABELS", "ORIGINS", "Channel", "channel", "is_channel"]

ORIGINS = ("central", "provincial", "city", "county", "other")


@dataclass(frozen=True)
class Channel:
    code: str
    label_zh: str
    origin: str
    integrable: bool
    source_level: Level | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "label_zh": self.label_zh,
            "origin": self.origin,
            "integrable": self.integrable,
            "source_level": self.source_level.value if self.source_level else None,
        }


_ALL = (
    # 财政专项扶贫资金 of each level
    Channel("central_special", "中央财政专项扶贫资金", "central", True, Level.CENTRAL),
    Channel("provincial_special", "省级财政专项扶贫资金", "provincial", True, Level.PROVINCE),
    Channel("city_special", "市级财政专项扶贫资金", "city", True, Level.CITY),
    Channel("county_special", "县级财政专项扶贫资金", "county", True, Level.COUNTY),
    # 统筹整合使用的财政涉农资金 (国办发〔2016〕22号), central transfers kept by their own ministries
    Channel("agri_integrated_irrigation", "农田水利设施建设和水土保持补助资金", "central", True, Level.CENTRAL),
    Channel("agri_integrated_farmland", "农田建设(高标准农田)补助资金", "central", True, Level.CENTRAL),
    Channel("agri_integrated_forestry", "林业改革发展资金", "central", True, Level.CENTRAL),
    Channel("agri_integrated_rural_roads", "车购税收入补助地方资金(农村公路)", "central", True, Level.CENTRAL),
    Channel("agri_integrated_dangerous_housing", "农村危房改造补助资金", "central", True, Level.CENTRAL),
    Channel("agri_integrated_comprehensive_dev", "农业综合开发补助资金", "central", True, Level.CENTRAL),
    Channel("agri_integrated_ethnic_minority", "少数民族发展资金", "central", True, Level.CENTRAL),
    Channel("agri_integrated_lottery", "中央专项彩票公益金支持扶贫资金", "central", True, Level.CENTRAL),
    Channel("agri_integrated_drinking_water", "农村饮水安全巩固提升工程资金", "central", True, Level.CENTRAL),
    Channel("agri_integrated_production", "农业生产发展资金", "central", True, Level.CENTRAL),
    Channel("work_relief", "以工代赈资金", "central", True, Level.CENTRAL),
    # outside the integration scope
    Channel("east_west", "东西部扶贫协作/对口支援(援疆)资金", "other", False, None),
    Channel("designated_assistance", "定点帮扶资金", "other", False, None),
    Channel("social_donation", "社会捐助资金", "other", False, None),
    Channel("relocation_central_budget", "易地扶贫搬迁中央预算内投资", "central", False, Level.CENTRAL),
    Channel("relocation_local_bond", "易地扶贫搬迁地方政府债券资金", "provincial", False, Level.PROVINCE),
    Channel("relocation_special_construction", "易地扶贫搬迁专项建设基金", "other", False, None),
    Channel("interest_subsidy", "扶贫贷款贴息资金", "central", False, None),
    Channel("risk_compensation", "扶贫小额信贷风险补偿金", "other", False, None),
)

CHANNELS: Mapping[str, Channel] = MappingProxyType({c.code: c for c in _ALL})
"""Every channel by code."""

CHANNEL_LABELS: Mapping[str, str] = MappingProxyType({c.code: c.label_zh for c in _ALL})
"""code → Chinese label."""


def is_channel(code: object) -> bool:
    return isinstance(code, str) and code in CHANNELS


def channel(code: str) -> Channel:
    """The channel ``code``; ``KeyError`` with a bilingual message when unknown."""
    try:
        return CHANNELS[code]
    except (KeyError, TypeError):
        raise KeyError(
            f"未知资金渠道 {code!r} (unknown fund channel {code!r}; one of {', '.join(CHANNELS)})"
        ) from None
