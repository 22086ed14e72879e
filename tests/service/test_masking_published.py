"""Masking through the real API and PostgreSQL: ID and mobile numbers typed into an announcement in
any grouping are masked on every public surface (JSON, board, feed) and in the logs."""

from __future__ import annotations

import re
import unicodedata

from shared import logging as fupin_logging
from tests.service.test_announcements import PERSON_ID, VILLAGE, app, household_list, key, village  # noqa: F401 (fixture)

MOBILE = "13812345678"
WRITTEN = {
    "dots": "138.1234.5678",
    "two spaces": "138  1234  5678",
    "zero-width": "138\u200b1234\u200b5678",
    "4-3-4": "1381-234-5678",
    "+86": "+86 138 1234 5678",
    "0086": "0086-13812345678",
    "full-width": "１３８１２３４５６７８",
}
ID_WRITTEN = [
    " ".join(PERSON_ID[i:i + 4] for i in range(0, 18, 4)),
    PERSON_ID[:6] + "." + PERSON_ID[6:14] + "." + PERSON_ID[14:],
    "\u200b".join(PERSON_ID),
    PERSON_ID.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")),
]


def digits_of(text: str) -> str:
    """The text's digits after normalisation: what a reader could reassemble."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isdigit() or c == "X")


async def test_numbers_in_any_grouping_never_reach_a_public_page(app):
    settings, client, _ = app
    text = "；".join(f"{how}：{number}" for how, number in WRITTEN.items())
    body = household_list(content={"body": f"户主电话{text}。身份证{'，'.join(ID_WRITTEN)}。金额1234.56元，2017-03-01。",
                                   "table": {"columns": ["户主", "电话"], "rows": [["王某", WRITTEN["zero-width"]]]}})
    draft = await client.post("/announcements", json=body, headers=key(village(settings)))
    assert draft.status_code == 201, draft.text
    await client.post(f"/announcements/{draft.json()['id']}/publish", headers=key(village(settings)),
                      json={"period_start": "2017-03-01", "period_end": "2017-03-10"})
    pages = [await client.get(f"/public/announcements/{draft.json()['id']}"),
             await client.get(f"/public/board/{VILLAGE}"), await client.get(f"/public/board/{VILLAGE}/feed.atom")]
    for page in pages:
        assert page.status_code == 200
        shown = digits_of(page.text)
        assert MOBILE not in shown and PERSON_ID not in shown and PERSON_ID[6:14] not in shown
        assert page.text.count("138****5678") >= len(WRITTEN)
        assert "1234.56" in page.text and "2017-03-01" in page.text  # ordinary numbers stay


def test_log_lines_mask_numbers_in_any_grouping(capsys):
    fupin_logging.configure("INFO", json=True)
    log = fupin_logging.get_logger("test")
    for how, number in WRITTEN.items():
        log.info("called back", how=how, note=f"电话 {number}", nested={"id": ID_WRITTEN[2]})
    err = capsys.readouterr().err
    assert MOBILE not in digits_of(err) and PERSON_ID not in digits_of(re.sub(r"\\u200b", "", err))
    assert err.count("138****5678") == len(WRITTEN)
