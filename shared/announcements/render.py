"""Public output of announcements (公告公示): the HTML notice board and the Atom feed.

Pure functions: no database, no FastAPI. The announcement dicts are the public shape (already
masked, see ``shared.announcements.domain.mask_person`` / ``mask_public``); as a second safety
net every text produced here goes through ``shared.masking.mask_personal_numbers`` so that a full
18-digit ID number never reaches a notice board or a feed reader (DOMAIN §6).

``board_html``  — server-side rendered 公告公示栏 of one division (Jinja2, autoescaped), with an
                  objection (异议) form under every announcement whose period is running.
``atom_feed``   — Atom 1.0 (RFC 4287) feed of the same announcements, built with ElementTree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.clock import CHINA_TZ
from shared.masking import mask_personal_numbers

__all__ = [
    "ATOM_NS",
    "OBJECTION_FIELDS",
    "archive_html",
    "atom_feed",
    "board_html",
    "notice_html",
    "objection_html",
    "cn_date",
    "cn_datetime",
    "status_text",
]

ATOM_NS = "http://www.w3.org/2005/Atom"
SUPERVISION_HOTLINE = "12317"  # 扶贫监督举报电话 (DOMAIN §6)
OBJECTION_FIELDS = ("text", "name", "phone")  # the form's field names; anything else in errors is form-wide

_TEMPLATES_DIR = Path(__file__).parent / "templates"
_LEVEL_LABELS = {"village": "村", "township": "乡镇", "county": "县", "city": "市", "province": "省"}
_TEL_CHARS_RE = re.compile(r"[^0-9+\-]")
_PARAGRAPH_SPLIT_RE = re.compile(r"\n[ \t\u3000]*\n")
# Characters XML 1.0 does not allow (ElementTree would write them and produce an invalid feed).
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --------------------------------------------------------------------------- dates in Chinese


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return _china_time(value).date()
    if isinstance(value, date):
        return value
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    return _china_time(_parse_instant(text)).date()


def _parse_instant(value: datetime | str) -> datetime:
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"时间必须带时区 (datetime must be timezone-aware, got {value!r})")
    return dt


def _china_time(value: datetime | str) -> datetime:
    return _parse_instant(value).astimezone(CHINA_TZ)


def cn_date(value: date | datetime | str | None) -> str:
    """``2017年3月1日`` (datetimes are taken in China time)."""
    if value is None or value == "":
        return ""
    d = _as_date(value)
    return f"{d.year}年{d.month}月{d.day}日"


def cn_datetime(value: datetime | str | None) -> str:
    """``2017年3月1日 09:00`` in China time (Asia/Shanghai)."""
    if value is None or value == "":
        return ""
    dt = _china_time(value)
    return f"{dt.year}年{dt.month}月{dt.day}日 {dt:%H:%M}"


def _rfc3339(value: datetime | str) -> str:
    dt = _parse_instant(value).astimezone(UTC)
    return dt.isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- view model


def status_text(a: Mapping[str, Any], today: date | None = None) -> str:
    """The announcement's state as shown to villagers.

    With ``today`` (China date), a published announcement whose period has ended but that the
    scheduler has not closed yet reads 公示期已满，等待公布结果 rather than 正在公示.
    """
    status = a.get("status")
    if status == "published":
        period = _period_view(a.get("period"))
        if today is not None and period is not None and today > period["end"]:
            return "公示期已满，等待公布结果"
        return "正在公示"
    if status == "withdrawn":
        reason = (a.get("withdrawn_reason") or "").strip()
        return f"已撤回：{reason}" if reason else "已撤回"
    if status == "closed":
        if a.get("outcome") == "passed":
            dismissed = int((a.get("objections") or {}).get("dismissed") or 0)
            if dismissed:
                return "公示期满，异议经核实不成立，通过"
            return "公示期满无异议，通过"
        if a.get("outcome") == "failed":
            return "公示未通过"
        return "公示期满"
    if status == "draft":
        return "草稿"
    return str(status or "")


def _period_view(period: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not period or not period.get("start") or not period.get("end"):
        return None
    start, end = _as_date(period["start"]), _as_date(period["end"])
    rule = ""
    if period.get("days"):
        unit = "个工作日" if period.get("unit") == "working" else "天"
        rule = f"不少于{period['days']}{unit}"
        if period.get("citation"):
            rule += f"，依据{period['citation']}"
    return {"start": start, "end": end, "text": f"{cn_date(start)}至{cn_date(end)}", "rule": rule}


def _remaining(period: dict[str, Any] | None, today: date) -> tuple[str, bool]:
    """(text, open for objections) for an announcement that is being published.

    The period includes both dates, so on its first day of a 10-day period 还剩10天, on its
    last day 还剩1天（今天截止）; objections are accepted until the end date (domain
    ``is_open_for_objections``).
    """
    if period is None:
        return "", True
    if today < period["start"]:
        return f"将于{cn_date(period['start'])}开始公示", True
    if today > period["end"]:
        return "公示期已满，等待公布结果", False
    days = (period["end"] - today).days + 1
    return (f"还剩{days}天（今天截止）" if days == 1 else f"还剩{days}天"), True


def _paragraphs(text: str | None) -> list[list[str]]:
    """Paragraphs (split on blank lines), each a list of its lines."""
    if not text:
        return []
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = []
    for block in _PARAGRAPH_SPLIT_RE.split(text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if lines:
            paragraphs.append(lines)
    return paragraphs


def _table_view(table: Any) -> dict[str, Any] | None:
    if not isinstance(table, Mapping):
        return None
    columns = [_cell(c) for c in table.get("columns") or []]
    rows = [[_cell(c) for c in row] for row in table.get("rows") or [] if isinstance(row, (list, tuple))]
    if not columns and not rows:
        return None
    return {"caption": _cell(table.get("caption")) if table.get("caption") else "", "columns": columns, "rows": rows}


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _phone_shown(phone: Any) -> str:
    """Listed phones arrive masked; a full mobile number that slipped through is masked here."""
    text = _cell(phone).strip()
    return mask_personal_numbers(text)


def _tel_href(number: str) -> str:
    return "tel:" + _TEL_CHARS_RE.sub("", number)


def _hotlines(hotlines: Mapping[str, Any] | None) -> list[dict[str, str]]:
    hotlines = hotlines or {}
    shown = [("扶贫监督举报电话", _cell(hotlines.get("supervision")).strip() or SUPERVISION_HOTLINE)]
    local = _cell(hotlines.get("local")).strip()
    if local:
        shown.append(("本地监督电话", local))
    return [{"label": label, "number": number, "href": _tel_href(number)} for label, number in shown]


def _objection_counts(objections: Mapping[str, Any] | None) -> dict[str, int]:
    objections = objections or {}
    return {k: int(objections.get(k) or 0) for k in ("open", "upheld", "dismissed")}


def _announcement_view(
    a: Mapping[str, Any],
    *,
    current: bool,
    today: date,
    division: str,
    division_label: str,
    objection_url: Callable[[str], str] | None,
    form_errors: dict[str, str] | None,
    form_values: Mapping[str, Any] | None,
    division_text: Callable[[str], str] | None = None,
    notice_url: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    aid = str(a["id"])
    content = a.get("content") or {}
    if not isinstance(content, Mapping):
        content = {}
    body = _paragraphs(content.get("body"))
    table = _table_view(content.get("table"))
    if not body and table is None:  # nothing structured: show the plain text of the notice
        body = _paragraphs(a.get("rendered_text"))
    people = [
        {"name": _cell(p.get("name")), "id_number": _cell(p.get("id_number")),
         "phone": _phone_shown(p.get("phone")), "note": _cell(p.get("note"))}
        for p in a.get("people") or [] if isinstance(p, Mapping)
    ]
    period = _period_view(a.get("period"))
    remaining, is_open = _remaining(period, today) if current else ("", False)
    a_division = _cell(a.get("division"))
    form = None
    if current and is_open and objection_url is not None:
        values = form_values or {}
        errors = form_errors or {}
        form = {
            "action": objection_url(aid),
            "values": {f: _cell(values.get(f)) for f in OBJECTION_FIELDS},
            "errors": {f: errors[f] for f in OBJECTION_FIELDS if errors.get(f)},
            "general_errors": [m for f, m in errors.items() if f not in OBJECTION_FIELDS and m],
            "autofocus": next((f for f in OBJECTION_FIELDS if errors.get(f)), None),
        }
    return {
        "id": aid,
        "title": _cell(a.get("title")),
        "level_label": _cell(a.get("level_label")) or _LEVEL_LABELS.get(_cell(a.get("level")), ""),
        "division": division_label if a_division in ("", division) else (
            division_text(a_division) if division_text else a_division),
        "service_label": _cell(a.get("service_label")),
        "url": notice_url(aid) if notice_url else "",
        "period": period,
        "remaining": remaining,
        "body": body,
        "table": table,
        "people": people,
        "people_have_phone": any(p["phone"] for p in people),
        "hotlines": _hotlines(a.get("hotlines")),
        "status": _cell(a.get("status")),
        "status_text": status_text(a, today),
        "outcome": _cell(a.get("outcome")),
        "published_at": a.get("published_at") or "",
        "closed_at": a.get("closed_at") or "",
        "objections": _objection_counts(a.get("objections")),
        "form": form,
    }


# --------------------------------------------------------------------------- HTML board


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cn_date"] = cn_date
    env.filters["cn_datetime"] = cn_datetime
    return env


def board_html(
    *,
    division: str,
    division_label: str,
    current: list[dict],
    recent: list[dict],
    objection_url: Callable[[str], str],
    board_url: str,
    feed_url: str,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    form_values: dict | None = None,
    now: datetime,
    hub_url: str = "",
    archive_url: str = "",
    receipt_url: str = "",
    division_text: Callable[[str], str] | None = None,
    notice_url: Callable[[str], str] | None = None,
) -> str:
    """The notice board (公告公示栏) of one division as a complete HTML page.

    ``current``: published announcements whose period is running (each gets an objection form
    while its period has not ended); ``recent``: closed or withdrawn ones. ``errors`` (field →
    message) and ``form_values`` (``announcement_id`` plus the fields) re-render the form of
    the announcement the objection was meant for; errors under other keys than text/name/phone
    are shown above that form. ``message`` is shown at the top (e.g. 异议已受理，编号…).
    ``now`` is an aware datetime; the remaining days are counted in China time.
    ``hub_url``: the division's board of all services, linked from a service's own board;
    ``archive_url``, ``receipt_url``: the archive search and the receipt look-up, linked at the top;
    ``division_text``: a division code as people name it; ``notice_url``: an announcement's own page.
    """
    today = _china_time(now).date()
    errors = {str(k): str(v) for k, v in (errors or {}).items() if v}
    form_values = dict(form_values or {})
    target = _cell(form_values.get("announcement_id")) or None

    def view(a: Mapping[str, Any], is_current: bool) -> dict[str, Any]:
        mine = target is not None and str(a["id"]) == target
        return _announcement_view(
            a, current=is_current, today=today, division=division, division_label=division_label,
            objection_url=objection_url if is_current else None,
            form_errors=errors if mine else None, form_values=form_values if mine else None,
            division_text=division_text, notice_url=notice_url,
        )

    current_views = [view(a, True) for a in current]
    recent_views = [view(a, False) for a in recent]
    # Errors that found no form to sit next to (no or unknown announcement_id, or the period
    # ended meanwhile) are shown at the top instead of being lost.
    placed = any(v["form"] is not None and v["id"] == target for v in current_views)
    orphan_errors = [] if placed else list(errors.values())

    html = _environment().get_template("board.html").render(
        division=division,
        division_label=division_label,
        current=current_views,
        recent=recent_views,
        board_url=board_url,
        feed_url=feed_url,
        message=message or "",
        orphan_errors=orphan_errors,
        now=now,
        supervision_hotline=_SUPERVISION,
        hub_url=hub_url, archive_url=archive_url, receipt_url=receipt_url,
    )
    return mask_personal_numbers(html)


_SUPERVISION = {"number": SUPERVISION_HOTLINE, "href": _tel_href(SUPERVISION_HOTLINE)}


def _page(template: str, **context: Any) -> str:
    return mask_personal_numbers(_environment().get_template(template).render(
        supervision_hotline=_SUPERVISION, **context))


def notice_html(
    a: Mapping[str, Any], *, now: datetime, division_label: str, board_url: str, json_url: str,
    objection_url: Callable[[str], str] | None, division_text: Callable[[str], str] | None = None,
) -> str:
    """One announcement on its own page (a link to share, print or keep), with its form while its
    period runs."""
    today = _china_time(now).date()
    current = a.get("status") == "published"
    view = _announcement_view(a, current=current, today=today, division="", division_label=division_label,
                              objection_url=objection_url if current else None, form_errors=None, form_values=None,
                              division_text=division_text)
    return _page("notice.html", a=view, current=current, board_url=board_url, json_url=json_url,
                 division_label=division_label, now=now)


def archive_html(
    items: list[dict], *, now: datetime, division_label: str, board_url: str, search: Mapping[str, str],
    services: Mapping[str, str], total: int, page: int, pages: int, page_url: Callable[[int], str],
    division_text: Callable[[str], str] | None = None, notice_url: Callable[[str], str] | None = None,
) -> str:
    """The archive of a division's announcements: a search form (title/text, dates, who announced,
    state) and one line per announcement, newest first."""
    today = _china_time(now).date()
    views = [_announcement_view(a, current=False, today=today, division="", division_label=division_label,
                                objection_url=None, form_errors=None, form_values=None,
                                division_text=division_text, notice_url=notice_url) for a in items]
    return _page("archive.html", items=views, now=now, division_label=division_label, board_url=board_url,
                 search=search, services=services, total=total, page=page, pages=pages,
                 prev_url=page_url(page - 1) if page > 1 else "", next_url=page_url(page + 1) if page < pages else "")


def objection_html(status: Mapping[str, Any] | None, *, receipt: str, now: datetime, lookup_url: str,
                   notice_url: str = "") -> str:
    """The status of an objection by its receipt number (or the look-up form when none is given
    or none is found): received or answered and when — never its text or who filed it."""
    return _page("objection.html", status=status, receipt=receipt, now=now, lookup_url=lookup_url,
                 notice_url=notice_url)


# --------------------------------------------------------------------------- Atom feed


def _feed_text(value: Any) -> str:
    return mask_personal_numbers(_XML_INVALID_RE.sub("", _cell(value)))


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _feed_text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _feed_text(text)
    return el


def _checkpoint_entry(feed: ET.Element, checkpoint: Mapping[str, Any], url: str | None) -> None:
    if url:
        _sub(feed, "link", rel="related", type="text/plain", href=url, title="签名日志检查点 (signed checkpoint)")
    entry = _sub(feed, "entry")
    _sub(entry, "id", f"urn:fupin:checkpoint:{checkpoint['origin']}:{checkpoint['size']}")
    _sub(entry, "title", f"日志检查点：前 {checkpoint['size']} 条记录 (signed checkpoint of the record log)")
    _sub(entry, "updated", _rfc3339(checkpoint["signed_at"]))
    if url:
        _sub(entry, "link", rel="alternate", type="text/plain", href=url)
    _sub(entry, "category", term="checkpoint", scheme="https://c2sp.org/tlog-checkpoint")
    _sub(entry, "content", checkpoint["note"], type="text")


def atom_feed(
    *,
    division: str,
    division_label: str,
    announcements: list[dict],
    board_url: str,
    feed_url: str,
    updated: datetime,
    checkpoint: Mapping[str, Any] | None = None,
    checkpoint_url: str | None = None,
) -> str:
    """Atom 1.0 feed of a division's announcements, one entry each, in the order given; first, when
    given, the service's latest signed checkpoint of its log (the note as the entry's content), so
    that whoever keeps the feed keeps a checkpoint too.

    Returns a string starting with the XML declaration; serve it encoded as UTF-8 with
    ``application/atom+xml; charset=utf-8``.
    """
    # Plain tag names under a literal default-namespace declaration: ElementTree's
    # default_namespace option rejects the (correctly) unqualified Atom attributes.
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": "zh-CN"})
    _sub(feed, "id", f"urn:fupin:board:{division}")
    _sub(feed, "title", f"{division_label}扶贫公告公示")
    _sub(feed, "subtitle", f"{division_label}公告公示栏；扶贫监督举报电话 {SUPERVISION_HOTLINE}")
    _sub(feed, "updated", _rfc3339(updated))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=board_url)
    author = _sub(feed, "author")
    _sub(author, "name", division_label)
    if checkpoint is not None:
        _checkpoint_entry(feed, checkpoint, checkpoint_url)

    for a in announcements:
        aid = str(a["id"])
        published = a.get("published_at")
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"urn:uuid:{aid}")
        _sub(entry, "title", a.get("title") or "")
        _sub(entry, "updated", _rfc3339(a.get("closed_at") or published or updated))
        if published:
            _sub(entry, "published", _rfc3339(published))
        _sub(entry, "link", rel="alternate", type="text/html", href=f"{board_url}#a-{aid}")
        entry_author = _sub(entry, "author")
        _sub(entry_author, "name", division_label)
        level = _cell(a.get("level"))
        if level:
            label = _cell(a.get("level_label")) or _LEVEL_LABELS.get(level, "")
            if label:
                _sub(entry, "category", term=level, label=label)
            else:
                _sub(entry, "category", term=level)
        period = _period_view(a.get("period"))
        summary = [f"公示期：{period['text']}"] if period else []
        summary.append(f"状态：{status_text(a, _china_time(updated).date())}")
        _sub(entry, "summary", "；".join(summary), type="text")
        _sub(entry, "content", a.get("rendered_text") or "", type="text")

    xml = ET.tostring(feed, encoding="unicode")
    return mask_personal_numbers('<?xml version="1.0" encoding="utf-8"?>\n' + xml + "\n")
