"""The Labelers, Items and Slices pages in headless Chromium, on the sample dataset.

A shared link opens the view it names; choosing a labeler, a table row or the
rounds to compare changes the URL. Screenshots go to test-artifacts/screenshots/.
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
    open_view,
    sentence,
    shoot,
    sidebar,
)

pytestmark = pytest.mark.browser

ROW_PX = 35  # the height of a table row (and of the header) in Streamlit's data grid


def pick(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar select box labelled ``label``.

    (No Escape afterwards: in a select box that can be emptied, Escape empties it.)
    """
    box = (
        sidebar(page)
        .locator('[data-testid="stSelectbox"]')
        .filter(has=page.get_by_text(label, exact=True))
    )
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def no_exception(page: Page) -> None:
    """The script has finished and shows no exception (its text in the failure message)."""
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=TIMEOUT_MS)
    shown = page.locator('[data-testid="stException"]').all_inner_texts()
    assert shown == []


def chart_drawn(page: Page, index: int) -> None:
    """Scroll to the Plotly chart number ``index`` (0 = first) and wait until it is drawn."""
    chart = page.locator('[data-testid="stPlotlyChart"]').nth(index)
    expect(chart).to_be_attached(timeout=TIMEOUT_MS)
    chart.scroll_into_view_if_needed()
    expect(chart.locator(".main-svg").first).to_be_attached(timeout=TIMEOUT_MS)


def click_row(table: Locator, row: int) -> None:
    """Click the row-selection cell (left edge) of row ``row`` (0 = first) of a data grid."""
    expect(table.locator("canvas").first).to_be_attached(timeout=TIMEOUT_MS)
    box = table.bounding_box()
    assert box is not None
    table.page.mouse.click(box["x"] + 12, box["y"] + ROW_PX * (row + 1) + ROW_PX / 2)


def labelers_sentence(focus: str) -> str:
    return (
        "Labelers of dataset 'inspection': each item's latest round, all items, all labelers; "
        f"labeler '{focus}'."
    )


def test_a_labeler_link_opens_that_labeler(server: Running, page: Page, screenshots: Path) -> None:
    open_view(
        page,
        f"{server.url}/Labelers?dataset=inspection&labeler=insp_07",
        labelers_sentence("insp_07"),
    )
    expect(combobox(page, "Labeler")).to_have_value("insp_07", timeout=TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Labeler insp_07")).to_be_visible()
    expect(
        page.get_by_text("insp_07 gives 89% of its timed answers in less than 3 s.")
    ).to_be_visible()
    chart_drawn(page, 0)
    no_exception(page)
    shoot(page, screenshots, "labelers-insp_07")
    chart_drawn(page, 1)
    shoot(page, screenshots, "labelers-insp_07-focus")

    pick(page, "Labeler", "insp_01")
    expect(sentence(page)).to_have_text(labelers_sentence("insp_01"), timeout=TIMEOUT_MS)
    assert page.url.endswith("/Labelers?dataset=inspection&labeler=insp_01")


def test_clicking_a_labeler_row_puts_it_in_focus(server: Running, page: Page) -> None:
    open_view(
        page,
        f"{server.url}/Labelers?dataset=inspection",
        "Labelers of dataset 'inspection': each item's latest round, all items, all labelers.",
    )
    table = page.locator('[data-testid="stDataFrame"]').first
    click_row(table, 1)
    expect(sentence(page)).to_have_text(labelers_sentence("insp_02"), timeout=TIMEOUT_MS)
    assert page.url.endswith("/Labelers?dataset=inspection&labeler=insp_02")
    expect(combobox(page, "Labeler")).to_have_value("insp_02", timeout=TIMEOUT_MS)


def test_an_item_link_shows_the_item_and_its_image(
    server: Running, page: Page, screenshots: Path
) -> None:
    open_view(
        page,
        f"{server.url}/Items?dataset=inspection&item=img_00003",
        "Items of dataset 'inspection': each item's latest round, all items, all labelers; "
        "item 'img_00003'.",
    )
    expect(page.get_by_role("heading", name="Item img_00003")).to_be_visible()
    image = page.locator('[data-testid="stImage"] img').first
    expect(image).to_be_visible(timeout=TIMEOUT_MS)
    assert image.evaluate("img => img.naturalWidth") == 64
    no_exception(page)
    shoot(page, screenshots, "items-img_00003")

    # a row of the list puts another item in focus
    table = page.locator('[data-testid="stDataFrame"]').nth(1)
    click_row(table, 0)
    expect(sentence(page)).not_to_have_text(re.compile("img_00003"), timeout=TIMEOUT_MS)
    assert re.search(r"/Items\?dataset=inspection&item=img_\d{5}$", page.url)


def test_a_comparison_link_and_changing_the_rounds(
    server: Running, page: Page, screenshots: Path
) -> None:
    open_view(
        page,
        f"{server.url}/Slices?dataset=inspection&by=camera&compare=1&compare=2",
        "Slices and rounds of dataset 'inspection': each item's latest round, all items, "
        "all labelers; sliced by camera, round 2 against round 1.",
    )
    expect(combobox(page, "Slice by")).to_have_value("camera", timeout=TIMEOUT_MS)
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_role("combobox", name="From round")).to_have_value("Round 1")
    expect(main.get_by_text(re.compile(r"camera = cam_C: alpha 0\.29"))).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(
        main.get_by_text(re.compile(r"^Round 2 against round 1 on the 600 items"))
    ).to_be_visible(timeout=TIMEOUT_MS)
    chart_drawn(page, 0)
    no_exception(page)
    shoot(page, screenshots, "slices-camera")
    chart_drawn(page, 2)
    shoot(page, screenshots, "slices-compare")

    main.locator('[data-testid="stSelectbox"]').filter(has_text="To round").click()
    page.get_by_role("option", name="Round 1", exact=True).click()
    expect(sentence(page)).to_have_text(re.compile("round 1 against round 2.$"), timeout=TIMEOUT_MS)
    assert page.url.endswith("/Slices?dataset=inspection&by=camera&compare=2&compare=1")
    expect(main.get_by_role("combobox", name="From round")).to_have_value("Round 2")
