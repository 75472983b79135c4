"""A product evaluation in a browser: an L2 agent plans it, runs the checklist, fills the
compatibility matrix, scores it and records the decision."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from soporte.assets import services as assets
from soporte.assets.defaults import ensure_default_types
from soporte.assets.models import AssetType
from soporte.evaluations.models import Evaluation

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_runs_an_evaluation_to_its_decision(new_page, sign_in, bob, ada, dialogs):
    ensure_default_types()
    laptop = AssetType.objects.get(name="Laptop")
    assets.create_asset(acting_user=ada, tag="NB-9", type=laptop, os_name="Windows 11")
    set_password(bob)
    page = new_page()
    sign_in(page, bob)

    # plan it
    page.goto("/desk/evaluations/new/")
    page.fill("#id_title", "<b>Dock</b> D-400")
    page.select_option("#id_kind", "hardware")
    page.select_option("#id_asset_type", str(laptop.pk))
    page.fill("#id_model", "D-400")
    page.fill("#id_steps", "Drives two monitors\nCharges the laptop")
    page.click("#evaluation-form button[type=submit]")
    expect(page.locator("#evaluation-status")).to_have_text("Planned")

    # test it
    page.click("#start-testing")
    expect(page.locator("#evaluation-status")).to_have_text("Testing")
    row = page.locator("#evaluation-steps tbody tr").first
    row.locator("select[name=result]").select_option("pass")
    row.locator("button[type=submit]").click()
    expect(page.locator("#evaluation-steps tbody tr").first).to_have_class("step step-pass")
    page.select_option("#compat-system", "os:Windows 11")
    page.select_option("#compat-form select[name=result]", "issues")
    page.click("#compat-form button[type=submit]")
    expect(page.locator("#evaluation-compatibility")).to_contain_text("Windows 11")
    page.select_option("#id_score", "4")
    page.click("form[action$='/score/'] button[type=submit]")
    expect(page.locator("#evaluation-average")).to_contain_text("Average 4.0 of 5")

    # decide
    page.select_option("#decide-form select[name=recommendation]", "conditions")
    page.fill("#decide-form textarea[name=conditions]", "Firmware 2 or later")
    page.click("#decide-form button[type=submit]")
    expect(page.locator("#evaluation-decision")).to_contain_text("Adopt with conditions")

    evaluation = Evaluation.objects.get()
    assert (evaluation.status, evaluation.recommendation) == ("decided", "conditions")
    assert evaluation.steps.filter(result="pass").count() == 1
    assert dialogs == []
