"""Unit tests for shared.announcements.render: the public notice board and the Atom feed."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest

from shared.announcements.render import atom_feed, board_html, cn_date, cn_datetime, status_text
from shared.idcard import is_valid, make_id

ATOM = "{http://www.w3.org/2005/Atom}"
DIVISION = "652722102201"
LABEL = "托里镇某村"
BOARD_URL = "https://fupin.example.cn/public/boards/652722102201"
FEED_URL = "https://fupin.example.cn/public/boards/652722102201/feed.atom"
NOW = datetime(2017, 3, 5, 2, 0, tzinfo=UTC)  # 2017-03-05 10:00 in China
FULL_ID = make_id("652722", date(1980, 5, 17), 123)  # valid-looking, must never be shown
EIGHTEEN_DIGITS = re.compile(r"[0-9]{17}[0-9Xx]")

CUR_ID = "0192f0a4-1111-7000-8000-000000000001"
CLOSED_ID = "0192f0a4-2222-7000-8000-000000000002"
WITHDRAWN_ID = "0192f0a4-3333-7000-8000-000000000003"


def objection_url(announcement_id: str) -> str:
    return f"/public/announcements/{announcement_id}/objections"


def announcement(**overrides) -> dict:
    a = {
        "id": CUR_ID,
        "service": "registry",
        "subject_type": "household_list",
        "subject_id": "652722102201-2017",
        "level": "village",
        "level_label": "村",
        "division": DIVISION,
        "title": "托里镇某村2017年贫困户识别公示",
        "content": {
            "body": "经村民代表大会民主评议，拟识别以下农户为建档立卡贫困户。\n\n如有异议，请于公示期内反映。",
            "table": {"columns": ["户主", "人口", "致贫原因"], "rows": [["王某", "4", "因病"]]},
        },
        "people": [{"name": "王某", "id_number": "652722********1234", "phone": "138****5678", "note": "户主"}],
        "rendered_text": "托里镇某村2017年贫困户识别公示\n王某 652722********1234",
        "hotlines": {"supervision": "12317", "local": "0909-5322222"},
        "period": {"start": "2017-03-01", "end": "2017-03-10", "days": 10, "unit": "calendar",
                   "rule": "announcement.min_period", "citation": "国开办发〔2017〕50号"},
        "status": "published",
        "outcome": None,
        "withdrawn_reason": None,
        "published_at": "2017-03-01T01:00:00.000000Z",
        "closed_at": None,
        "objections": {"open": 1, "upheld": 0, "dismissed": 2},
    }
    a.update(overrides)
    return a


def closed(**overrides) -> dict:
    base = dict(
        id=CLOSED_ID, title="托里镇某村2016年脱贫退出公示", status="closed", outcome="passed",
        period={"start": "2016-12-01", "end": "2016-12-10", "days": 10, "unit": "calendar",
                "citation": "国开办发〔2017〕50号"},
        published_at="2016-12-01T01:00:00Z", closed_at="2016-12-10T16:05:00Z",
        objections={"open": 0, "upheld": 0, "dismissed": 0},
    )
    base.update(overrides)
    return announcement(**base)


def withdrawn(**overrides) -> dict:
    base = dict(id=WITHDRAWN_ID, title="村道硬化项目公示", status="withdrawn", outcome=None,
                withdrawn_reason="项目金额填报有误", closed_at="2017-02-20T03:00:00Z",
                objections={"open": 0, "upheld": 0, "dismissed": 0})
    base.update(overrides)
    return announcement(**base)


def render(current=None, recent=None, **kw) -> str:
    args = dict(
        division=DIVISION, division_label=LABEL,
        current=[announcement()] if current is None else current,
        recent=[closed(), withdrawn()] if recent is None else recent,
        objection_url=objection_url, board_url=BOARD_URL, feed_url=FEED_URL, now=NOW,
    )
    args.update(kw)
    return board_html(**args)


def feed(announcements=None, **kw) -> str:
    args = dict(division=DIVISION, division_label=LABEL,
                announcements=[announcement(), closed(), withdrawn()] if announcements is None else announcements,
                board_url=BOARD_URL, feed_url=FEED_URL, updated=NOW)
    args.update(kw)
    return atom_feed(**args)


# --------------------------------------------------------------------------- a tiny HTML collector


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.text_parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and all(child.attrs.get(k) == v for k, v in attrs.items()):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Node | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None


VOID = {"meta", "link", "input", "br", "img", "hr", "source", "wbr", "area", "base", "col", "embed", "track"}


class Collector(HTMLParser):
    """Builds a small tree; every node's ``text`` holds all text inside it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.current = self.root
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        assert node is not self.root, f"unbalanced </{tag}>"
        self.current = node.parent

    def handle_data(self, data):
        node = self.current
        while node is not None:
            node.text_parts.append(data)
            node = node.parent


def parse(html: str) -> Collector:
    c = Collector()
    c.feed(html)
    c.close()
    assert c.current is c.root, "unclosed elements"
    return c


def article(doc: Collector, announcement_id: str) -> Node:
    node = doc.root.find("article", id=f"a-{announcement_id}")
    assert node is not None, f"no article a-{announcement_id}"
    return node


def no_full_id(text: str) -> None:
    assert FULL_ID not in text
    assert EIGHTEEN_DIGITS.search(text) is None, EIGHTEEN_DIGITS.search(text).group()


# --------------------------------------------------------------------------- the page


def test_page_shell_is_chinese_mobile_html_with_feed_links():
    doc = parse(render())
    assert doc.doctype.lower() == "doctype html"
    html = doc.root.find("html")
    assert html.attrs["lang"] == "zh-CN"
    viewport = doc.root.find("meta", name="viewport")
    assert viewport.attrs["content"] == "width=device-width, initial-scale=1"
    assert doc.root.find("meta", charset="utf-8") is not None
    alt = doc.root.find("link", rel="alternate")
    assert alt.attrs["type"] == "application/atom+xml" and alt.attrs["href"] == FEED_URL
    assert any(a.attrs.get("href") == FEED_URL for a in doc.root.find("body").find_all("a"))
    assert "扶贫公告公示栏" in doc.root.find("title").text and LABEL in doc.root.find("h1").text
    style = doc.root.find("style").text
    assert "overflow-x" in style  # tables scroll sideways on a phone
    headings = [h.text for h in doc.root.find_all("h2")]
    assert headings == ["正在公示", "近期公示结果"]


def test_each_announcement_is_an_article_with_title_level_and_division():
    doc = parse(render())
    for aid, title in [(CUR_ID, "托里镇某村2017年贫困户识别公示"), (CLOSED_ID, "托里镇某村2016年脱贫退出公示"),
                       (WITHDRAWN_ID, "村道硬化项目公示")]:
        node = article(doc, aid)
        assert node.find("h3").text == title
        assert "村级公示" in node.text and LABEL in node.text
    current = doc.root.find("section", id="current")
    assert current.find("article", id=f"a-{CUR_ID}") is not None
    assert current.find("article", id=f"a-{CLOSED_ID}") is None


def test_period_in_chinese_and_remaining_days_in_china_time():
    node = article(parse(render()), CUR_ID)
    assert "公示期：2017年3月1日至2017年3月10日" in node.text
    assert "还剩6天" in node.text  # 5th..10th inclusive
    assert "不少于10天" in node.text and "国开办发〔2017〕50号" in node.text
    # 2017-03-09T16:30Z is already the 10th in China: the last day
    last = article(parse(render(now=datetime(2017, 3, 9, 16, 30, tzinfo=UTC))), CUR_ID)
    assert "还剩1天" in last.text
    first = article(parse(render(now=datetime(2017, 2, 28, 16, 0, tzinfo=UTC))), CUR_ID)
    assert "还剩10天" in first.text
    # recent ones show the period but no countdown
    assert "还剩" not in article(parse(render()), CLOSED_ID).text


def test_period_over_but_not_yet_closed_has_no_form():
    doc = parse(render(now=datetime(2017, 3, 10, 16, 0, tzinfo=UTC)))  # 11 March in China
    node = article(doc, CUR_ID)
    assert node.find("form") is None
    assert "还剩" not in node.text and "不再受理异议" in node.text


def test_body_paragraphs_and_content_table():
    node = article(parse(render()), CUR_ID)
    paragraphs = [p.text for p in node.find_all("p")]
    assert "经村民代表大会民主评议，拟识别以下农户为建档立卡贫困户。" in paragraphs
    assert "如有异议，请于公示期内反映。" in paragraphs
    tables = node.find_all("table")
    content_table = tables[0]
    assert [th.text for th in content_table.find_all("th")] == ["户主", "人口", "致贫原因"]
    assert [td.text for td in content_table.find_all("td")] == ["王某", "4", "因病"]


def test_table_absent_or_null_is_fine():
    a = announcement(content={"body": "只有正文。", "table": None})
    b = announcement(id="0192f0a4-4444-7000-8000-000000000004", content={"body": "没有表格键。"}, people=[])
    doc = parse(render(current=[a, b]))
    assert len(article(doc, CUR_ID).find_all("table")) == 1  # only the people table
    assert article(doc, b["id"]).find("table") is None


def test_people_table_with_masked_ids_and_optional_phone_column():
    node = article(parse(render()), CUR_ID)
    people = node.find("table", **{"class": "people"})
    assert [th.text for th in people.find_all("th")] == ["姓名", "身份证号", "联系电话", "备注"]
    assert [td.text for td in people.find_all("td")] == ["王某", "652722********1234", "138****5678", "户主"]
    no_phone = announcement(people=[{"name": "李某", "id_number": "652722********202X", "note": ""}])
    people = article(parse(render(current=[no_phone])), CUR_ID).find("table", **{"class": "people"})
    assert [th.text for th in people.find_all("th")] == ["姓名", "身份证号", "备注"]


def test_hotlines_are_tel_links():
    node = article(parse(render()), CUR_ID)
    links = {a.attrs["href"]: a.text for a in node.find_all("a") if a.attrs.get("href", "").startswith("tel:")}
    assert links == {"tel:12317": "12317", "tel:0909-5322222": "0909-5322222"}
    assert "扶贫监督举报电话" in node.text
    # missing hotlines still show the national supervision line
    bare = article(parse(render(current=[announcement(hotlines=None)])), CUR_ID)
    assert [a.attrs["href"] for a in bare.find_all("a")] == ["tel:12317"]


def test_objection_counts():
    assert "异议：待处理1件，成立0件，不成立2件" in article(parse(render()), CUR_ID).text
    assert "异议：待处理0件，成立0件，不成立0件" in article(parse(render()), CLOSED_ID).text


def test_outcomes_of_recent_announcements():
    failed = closed(id="0192f0a4-5555-7000-8000-000000000005", outcome="failed",
                    objections={"open": 0, "upheld": 1, "dismissed": 0})
    dismissed = closed(id="0192f0a4-6666-7000-8000-000000000006", objections={"open": 0, "upheld": 0, "dismissed": 1})
    doc = parse(render(recent=[closed(), failed, withdrawn(), dismissed]))
    assert "公示期满无异议，通过" in article(doc, CLOSED_ID).text
    assert "公示未通过" in article(doc, failed["id"]).text
    assert "已撤回：项目金额填报有误" in article(doc, WITHDRAWN_ID).text
    assert "不成立，通过" in article(doc, dismissed["id"]).text
    assert status_text(withdrawn(withdrawn_reason=None)) == "已撤回"


def test_current_announcement_has_objection_form():
    node = article(parse(render()), CUR_ID)
    forms = node.find_all("form")
    assert len(forms) == 1
    form = forms[0]
    assert form.attrs["method"] == "post" and form.attrs["action"] == objection_url(CUR_ID)
    textarea = form.find("textarea")
    assert textarea.attrs["name"] == "text"
    assert "required" in textarea.attrs
    assert textarea.attrs["minlength"] == "5" and textarea.attrs["maxlength"] == "2000"
    inputs = {i.attrs["name"]: i for i in form.find_all("input")}
    assert set(inputs) == {"name", "phone"}
    assert inputs["name"].attrs["maxlength"] == "50" and "required" not in inputs["name"].attrs
    assert inputs["phone"].attrs["type"] == "tel" and inputs["phone"].attrs["maxlength"] == "20"
    labels = [label.text for label in form.find_all("label")]
    assert "姓名（选填，不公开）" in labels and "电话（选填，不公开）" in labels
    assert {label.attrs["for"] for label in form.find_all("label")} == {
        textarea.attrs["id"], inputs["name"].attrs["id"], inputs["phone"].attrs["id"]}
    button = form.find("button")
    assert button.attrs["type"] == "submit" and button.text == "提交异议"
    assert "不公开" in form.find("p", **{"class": "privacy"}).text


def test_recent_announcements_have_no_form():
    doc = parse(render())
    assert article(doc, CLOSED_ID).find("form") is None
    assert article(doc, WITHDRAWN_ID).find("form") is None
    assert doc.root.find("section", id="recent").find("form") is None


def test_errors_and_values_are_rendered_into_the_right_form():
    other = announcement(id="0192f0a4-7777-7000-8000-000000000007", title="另一条公示")
    html = render(
        current=[announcement(), other],
        errors={"text": "异议内容至少5个字", "phone": "电话号码格式不正确"},
        form_values={"announcement_id": other["id"], "text": "太短", "name": "张三", "phone": "abc"},
    )
    doc = parse(html)
    form = article(doc, other["id"]).find("form")
    assert form.find("textarea").text == "太短"
    assert form.find("textarea").attrs.get("aria-invalid") == "true"
    inputs = {i.attrs["name"]: i for i in form.find_all("input")}
    assert inputs["name"].attrs["value"] == "张三" and inputs["phone"].attrs["value"] == "abc"
    errors = [p.text for p in form.find_all("p", **{"class": "field-error"})]
    assert errors == ["异议内容至少5个字", "电话号码格式不正确"]
    # the other form is untouched
    untouched = article(doc, CUR_ID).find("form")
    assert untouched.find("textarea").text == ""
    assert untouched.find_all("p", **{"class": "field-error"}) == []
    assert {i.attrs["value"] for i in untouched.find_all("input")} == {""}


def test_errors_without_a_matching_form_are_shown_at_the_top():
    doc = parse(render(errors={"announcement": "该公告已不在公示期内"},
                       form_values={"announcement_id": CLOSED_ID, "text": "异议内容"}))
    alert = doc.root.find("div", role="alert")
    assert alert is not None and "该公告已不在公示期内" in alert.text


def test_message_box():
    doc = parse(render(message="异议已受理，编号 YY-2017-0001"))
    box = doc.root.find("div", role="status")
    assert box is not None and box.text == "异议已受理，编号 YY-2017-0001"
    assert parse(render()).root.find("div", role="status") is None


def test_html_escaping():
    evil = announcement(
        title='<script>alert("x")</script>',
        content={"body": "a & b <b>bold</b>", "table": {"columns": ["<i>c</i>"], "rows": [["<img src=x>"]]}},
        people=[{"name": "<u>王</u>", "id_number": "652722********1234", "note": '"><script>'}],
    )
    html = render(current=[evil], message="<b>ok</b>",
                  errors={"text": "<em>err</em>"},
                  form_values={"announcement_id": CUR_ID, "text": "</textarea><script>x</script>", "name": '"><x'})
    assert "<script>" not in html and "<img" not in html and "<b>" not in html and "<em>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "a &amp; b" in html
    doc = parse(html)
    assert doc.root.find("script") is None
    node = article(doc, CUR_ID)
    assert node.find("h3").text == '<script>alert("x")</script>'
    assert node.find("textarea").text == "</textarea><script>x</script>"
    assert {i.attrs["name"]: i.attrs["value"] for i in node.find_all("input")}["name"] == '"><x'


def test_empty_sections():
    doc = parse(render(current=[], recent=[]))
    assert "暂无正在公示的公告" in doc.root.find("section", id="current").text
    assert "暂无近期公示结果" in doc.root.find("section", id="recent").text
    assert doc.root.find("form") is None


def test_never_an_unmasked_id_number():
    assert is_valid(FULL_ID) and FULL_ID.startswith("652722")
    leaky = announcement(
        title=f"公示{FULL_ID}",
        content={"body": f"户主身份证号{FULL_ID}。\n\n第二段 {FULL_ID.lower()}",
                 "table": {"columns": ["身份证号"], "rows": [[FULL_ID]]}},
        people=[{"name": "王某", "id_number": FULL_ID, "phone": "13812345678", "note": FULL_ID}],
        rendered_text=f"全文 {FULL_ID}",
        withdrawn_reason=FULL_ID,
    )
    html = render(current=[leaky], recent=[withdrawn(withdrawn_reason=f"错填{FULL_ID}")],
                  message=f"已受理 {FULL_ID}", errors={"text": f"错误 {FULL_ID}"},
                  form_values={"announcement_id": CUR_ID, "text": FULL_ID, "name": FULL_ID, "phone": ""})
    no_full_id(html)
    assert "652722********" + FULL_ID[-4:] in html
    assert "13812345678" not in html and "138****5678" in html
    xml = feed([leaky, withdrawn(withdrawn_reason=FULL_ID)])
    no_full_id(xml)
    assert "652722********" + FULL_ID[-4:] in xml


#: real UUIDv7 ids whose digit groups read as a bank card, a mobile number or a long digit run
#: (about one in 400 random ones): the board's objection form once posted to a masked, broken URL
NUMBER_LIKE_IDS = ["01a23cb1-bbd3-7da7-b143-73735736edc2", "01a23cb1-bdb4-7813-9469-526513336f2c",
                   "01a23cb1-c144-7421-9615-305eeeb16fc3", "01a23cb1-c947-7ca1-9395-426788ee18a0"]


@pytest.mark.parametrize("aid", NUMBER_LIKE_IDS)
def test_an_id_that_looks_like_a_number_keeps_its_form_and_links(aid):
    html = render(current=[announcement(id=aid)], recent=[], notice_url=lambda a: f"/public/notices/{a}")
    node = article(parse(html), aid)
    assert [f.attrs["action"] for f in node.find_all("form")] == [objection_url(aid)]
    assert f'href="/public/notices/{aid}"' in html
    assert set(re.findall(r"\w\*+\w", html)) <= {"8****5", "2********1"}  # only the phone and the ID


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        render(now=datetime(2017, 3, 5, 10, 0))


def test_chinese_date_filters():
    assert cn_date("2017-03-01") == "2017年3月1日"
    assert cn_date(date(2017, 12, 31)) == "2017年12月31日"
    assert cn_date("2017-02-28T16:30:00Z") == "2017年3月1日"  # China time
    assert cn_datetime("2017-03-01T01:00:00.000000Z") == "2017年3月1日 09:00"
    assert cn_date(None) == ""


# --------------------------------------------------------------------------- the Atom feed


def test_feed_parses_with_ids_links_and_one_entry_each():
    xml = feed()
    assert xml.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id") == f"urn:fupin:board:{DIVISION}"
    assert root.findtext(f"{ATOM}title") == f"{LABEL}扶贫公告公示"
    assert root.findtext(f"{ATOM}updated") == "2017-03-05T02:00:00Z"
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": FEED_URL, "alternate": BOARD_URL}
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"urn:uuid:{CUR_ID}", f"urn:uuid:{CLOSED_ID}", f"urn:uuid:{WITHDRAWN_ID}"]
    for e, aid in zip(entries, [CUR_ID, CLOSED_ID, WITHDRAWN_ID]):
        link = e.find(f"{ATOM}link")
        assert link.get("rel") == "alternate" and link.get("href") == f"{BOARD_URL}#a-{aid}"
        assert e.find(f"{ATOM}category").get("term") == "village"
        assert e.find(f"{ATOM}author").findtext(f"{ATOM}name") == LABEL
        assert e.find(f"{ATOM}content").get("type") == "text"
    cur, done, _ = entries
    assert cur.findtext(f"{ATOM}title") == "托里镇某村2017年贫困户识别公示"
    assert cur.findtext(f"{ATOM}published") == "2017-03-01T01:00:00Z"
    assert cur.findtext(f"{ATOM}updated") == "2017-03-01T01:00:00Z"  # not closed: published_at
    assert done.findtext(f"{ATOM}updated") == "2016-12-10T16:05:00Z"  # closed_at
    assert "公示期：2017年3月1日至2017年3月10日" in cur.findtext(f"{ATOM}summary")
    assert "正在公示" in cur.findtext(f"{ATOM}summary")
    assert "公示期满无异议，通过" in done.findtext(f"{ATOM}summary")
    assert cur.findtext(f"{ATOM}content") == announcement()["rendered_text"]


def test_feed_escapes_and_drops_invalid_xml_characters():
    a = announcement(title="A & B <c>", rendered_text="x < y & z\x00\x07 ]]> end")
    xml = feed([a])
    assert "A &amp; B &lt;c&gt;" in xml and "x &lt; y &amp; z" in xml
    entry = ET.fromstring(xml.encode("utf-8")).find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "A & B <c>"
    assert entry.findtext(f"{ATOM}content") == "x < y & z ]]> end"


def test_empty_feed():
    root = ET.fromstring(feed([]).encode("utf-8"))
    assert root.findall(f"{ATOM}entry") == []
    assert root.find(f"{ATOM}author").findtext(f"{ATOM}name") == LABEL


def test_inputs_are_not_mutated():
    items = [announcement(), closed()]
    before = copy.deepcopy(items)
    render(current=items[:1], recent=items[1:])
    feed(items)
    assert items == before


def test_published_but_period_over_listed_as_recent_awaits_result():
    # the public route lists a published announcement whose period ended (not yet closed by the
    # scheduler) among the recent ones: no form, no 正在公示
    due = announcement()
    doc = parse(render(current=[], recent=[due], now=datetime(2017, 3, 11, 2, 0, tzinfo=UTC)))
    node = article(doc, CUR_ID)
    assert node.find("form") is None
    assert "公示期已满，等待公布结果" in node.text and "正在公示" not in node.text
    summary = ET.fromstring(feed([due], updated=datetime(2017, 3, 11, 2, 0, tzinfo=UTC)).encode()) \
        .find(f"{ATOM}entry").findtext(f"{ATOM}summary")
    assert "公示期已满，等待公布结果" in summary
