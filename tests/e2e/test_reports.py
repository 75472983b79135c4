"""The supervisor dashboard in a browser: the charts draw under the site's CSP, the
filters narrow them and a chart's data downloads as CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from soporte.tickets import services

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_supervisor_reads_the_dashboard_filters_it_and_downloads_a_chart(
    new_page, sign_in, carol, alice, maria, teams, dialogs
):
    for team in (teams["L2"], teams["L1"], teams["L1"]):
        ticket = services.open_ticket(
            acting_user=alice, requester=maria, team=team, subject="Printer", body="Jams."
        )
    services.reply(ticket, acting_user=alice, body="Looking.")
    set_password(carol)
    page = new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    sign_in(page, carol)

    page.goto("/desk/reports/")
    expect(page.locator('[data-figure="created"]')).to_have_text("3")
    expect(page.locator('canvas[data-chart="volume_by_day"][data-drawn="true"]')).to_have_count(1)
    assert page.locator('canvas[data-drawn="true"]').count() >= 4

    page.select_option("#id_team", str(teams["L2"].pk))
    page.click("form.report-filters button[type=submit]")
    expect(page.locator('[data-figure="created"]')).to_have_text("1")

    with page.expect_download() as download:
        page.click('[data-chart-section="by_channel"] a.report-csv')
    content = Path(download.value.path()).read_text(encoding="utf-8")
    assert content.splitlines()[0] == "Channel,Opened"
    assert problems == []  # no CSP violation, no script error
    assert dialogs == []
