"""The Classes, Confusion and Recommendations pages in headless Chromium, on the sample dataset.

Links with query parameters open the view they name; choosing a class or a
pair, or the confusion counts, rewrites the URL. Screenshots go to
test-artifacts/screenshots/ for a look at the layout.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .test_dashboard_browser import (
    TIMEOUT_MS,
    Running,
    combobox,
    sentence,
    shoot,
    sidebar,
)

pytestmark = pytest.mark.browser

#: Computing the sample's analysis (bootstrap included) the first time takes a while.
ANALYSIS_MS = 120_000
VIEW = "each item's latest round, all items, all labelers"


def open_view(page: Page, url: str, expected: str) -> None:
    """Open ``url`` and wait for the view sentence (the first request imports the sample)."""
    page.goto(url)
    expect(sentence(page)).to_have_text(expected, timeout=ANALYSIS_MS)


def main(page: Page) -> Locator:
    return page.locator('[data-testid="stMain"]')


def charts_drawn(page: Page) -> None:
    """Wait until every Plotly chart of the page is drawn."""
    charts = page.locator('[data-testid="stPlotlyChart"]')
    expect(charts.first).to_be_visible(timeout=ANALYSIS_MS)
    for chart in charts.all():
        expect(chart.locator(".main-svg").first).to_be_attached(timeout=TIMEOUT_MS)


def idle(page: Page) -> None:
    """Wait until the script has finished running (no status widget, charts drawn)."""
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=ANALYSIS_MS)
    if page.locator('[data-testid="stPlotlyChart"]').count():
        charts_drawn(page)


def pick(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar select box ``label`` (no Escape: it clears a clearable box)."""
    box = (
        sidebar(page)
        .locator('[data-testid="stSelectbox"]')
        .filter(has=page.get_by_text(label, exact=True))
    )
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def heading(page: Page, text: str) -> Locator:
    return main(page).get_by_role("heading", name=text, exact=True)


def test_a_class_link_opens_that_class(server: Running, page: Page, screenshots: Path) -> None:
    open_view(
        page,
        f"{server.url}/Classes?dataset=inspection&class=crack",
        f"Classes of dataset 'inspection': {VIEW}; class 'crack'.",
    )
    expect(heading(page, "Class crack")).to_be_visible(timeout=ANALYSIS_MS)
    expect(combobox(page, "Class")).to_have_value("crack")
    # crack: people agree far more than the model does
    expect(main(page).get_by_text("Model behind people (HLP above accuracy)")).to_be_visible(
        timeout=ANALYSIS_MS
    )
    expect(heading(page, "How many labels per item?")).to_be_visible(timeout=ANALYSIS_MS)
    charts_drawn(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shoot(page, screenshots, "classes-crack")


def test_choosing_a_class_rewrites_the_url(server: Running, page: Page) -> None:
    open_view(
        page,
        f"{server.url}/Classes?dataset=inspection",
        f"Classes of dataset 'inspection': {VIEW}.",
    )
    pick(page, "Class", "scratch_deep")
    expect(sentence(page)).to_have_text(
        f"Classes of dataset 'inspection': {VIEW}; class 'scratch_deep'.", timeout=ANALYSIS_MS
    )
    expect(page).to_have_url(re.compile(r"/Classes\?dataset=inspection&class=scratch_deep$"))
    expect(heading(page, "Class scratch_deep")).to_be_visible(timeout=ANALYSIS_MS)


def test_clicking_a_row_of_the_class_table_chooses_it(server: Running, page: Page) -> None:
    open_view(
        page,
        f"{server.url}/Classes?dataset=inspection",
        f"Classes of dataset 'inspection': {VIEW}.",
    )
    expect(heading(page, "How many labels per item?")).to_be_visible(timeout=ANALYSIS_MS)
    idle(page)
    grid = main(page).locator('[data-testid="stDataFrame"]').first
    expect(grid.locator("canvas").first).to_be_attached(timeout=ANALYSIS_MS)
    box = grid.bounding_box()
    assert box is not None
    # the first row's selection box: below the header row, in the first column
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    # the lowest agreement: one of the two scratch subtypes, which people confuse
    expect(page).to_have_url(re.compile(r"&class=scratch_(deep|light)$"), timeout=TIMEOUT_MS)
    chosen = page.url.rsplit("=", 1)[1]
    expect(combobox(page, "Class")).to_have_value(chosen, timeout=TIMEOUT_MS)
    expect(heading(page, f"Class {chosen}")).to_be_visible(timeout=ANALYSIS_MS)


def test_a_pair_link_opens_the_merge_and_counts_change_the_url(
    server: Running, page: Page, screenshots: Path
) -> None:
    url = f"{server.url}/Confusion?dataset=inspection&pair=scratch_deep&pair=scratch_light&normalize=row"
    open_view(
        page,
        url,
        f"Confusion of dataset 'inspection': {VIEW}; classes 'scratch_deep' and "
        "'scratch_light', counts normalized by row.",
    )
    expect(heading(page, "scratch_deep and scratch_light")).to_be_visible(timeout=ANALYSIS_MS)
    expect(main(page).get_by_text("Alpha if merged")).to_be_visible(timeout=ANALYSIS_MS)
    expect(combobox(page, "Class pair: first")).to_have_value("scratch_deep")
    expect(combobox(page, "second")).to_have_value("scratch_light")
    idle(page)
    shoot(page, screenshots, "confusion-pair")
    sidebar(page).get_by_text("Counts", exact=True).click()
    expect(page).to_have_url(
        re.compile(r"/Confusion\?dataset=inspection&pair=scratch_deep&pair=scratch_light$"),
        timeout=TIMEOUT_MS,
    )
    expect(sentence(page)).to_have_text(
        f"Confusion of dataset 'inspection': {VIEW}; classes 'scratch_deep' and 'scratch_light'.",
        timeout=TIMEOUT_MS,
    )


def test_overview_leads_to_the_recommendations_and_a_relabel_batch(
    server: Running, page: Page, screenshots: Path
) -> None:
    open_view(
        page, f"{server.url}/?dataset=inspection", f"Overview of dataset 'inspection': {VIEW}."
    )
    expect(heading(page, "What to do next")).to_be_visible(timeout=ANALYSIS_MS)
    expect(main(page).get_by_text("Fix the input:")).to_be_visible(timeout=ANALYSIS_MS)
    idle(page)
    shoot(page, screenshots, "overview-agreement")
    main(page).get_by_role("link", name=re.compile(r"^All \d+ recommendations")).click()
    expect(sentence(page)).to_have_text(
        f"Recommendations of dataset 'inspection': {VIEW}.", timeout=TIMEOUT_MS
    )
    assert page.url == f"{server.url}/Recommendations?dataset=inspection"
    first = main(page).locator('[data-testid="stExpander"]').first
    expect(first).to_contain_text("1. Fix the input: camera = cam_C", timeout=ANALYSIS_MS)
    idle(page)
    first.get_by_text("Relabel these items").click()
    csv_button = first.get_by_role("button", name=re.compile("Batch as CSV"))
    expect(csv_button).to_be_enabled(timeout=ANALYSIS_MS)
    with page.expect_download() as download:
        csv_button.click()
    saved = Path(download.value.path())
    lines = saved.read_text().splitlines()
    assert lines[0] == "item_id,data_ref,votes,consensus,tie,confidence,gain,reason"
    assert len(lines) == 1 + 50
    assert all("camera = cam_C" in line for line in lines[1:])
    expect(first.get_by_role("button", name=re.compile("Label Studio tasks"))).to_be_disabled()
    shoot(page, screenshots, "recommendations-relabel")
