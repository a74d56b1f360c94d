"""The inspector page without a browser: what it says when JavaScript is off, and that it marks the
requests the mock could not place (the browser test, tests/inspector/, sees it live)."""

from __future__ import annotations

import re


async def test_without_javascript_the_page_points_to_the_journal(client):
    resp = await client.get("/_mock/")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    noscript = re.search(r"<noscript>(.*?)</noscript>", page, re.S)
    assert noscript is not None
    said = noscript.group(1)
    assert "needs JavaScript" in said
    assert '<a href="/_mock/journal">GET /_mock/journal</a>' in said
    # Every link it gives answers JSON.
    for link in re.findall(r'href="(/_mock/[a-z]+)"', said):
        linked = await client.get(link)
        assert linked.status == 200 and linked.content_type == "application/json", link


async def test_unmatched_entries_get_a_row_class_and_a_reason_column(client):
    page = await (await client.get("/_mock/")).text()
    assert "<th>unmatched</th>" in page
    assert 'if (entry.unmatched) row.classList.add("unmatched");' in page
    assert "tbody#journal tr.unmatched {" in page
    # The reasons it names are the journal's.
    for reason in ("route", '"not emulated"', "scenario"):
        assert f"{reason}: " in page
