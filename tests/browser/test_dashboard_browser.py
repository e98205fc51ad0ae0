"""The dashboard in headless Chromium: shared links, copy link, uploads, navigation.

Each test saves screenshots into test-artifacts/screenshots/ for a look at the layout.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Protocol

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
INSPECTION = "Overview of dataset 'inspection': each item's latest round, all items, all labelers."


class Running(Protocol):
    url: str


def sentence(page: Page) -> Locator:
    """The view sentence under the page title."""
    return page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first


def sidebar(page: Page) -> Locator:
    return page.locator('[data-testid="stSidebar"]')


def combobox(page: Page, label: str) -> Locator:
    """The sidebar select box labelled ``label`` (its value is the option shown)."""
    return sidebar(page).get_by_role("combobox", name=label, exact=True)


def open_view(page: Page, url: str, expected: str) -> None:
    """Open ``url`` and wait until the page shows the view sentence ``expected``."""
    page.goto(url)
    expect(sentence(page)).to_have_text(expected, timeout=TIMEOUT_MS)


def choose(page: Page, widget: str, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar select box or multiselect labelled ``label``."""
    box = (
        sidebar(page)
        .locator(f'[data-testid="{widget}"]')
        .filter(has=page.get_by_text(label, exact=True))
    )
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Tab")  # closes the menu (Escape may clear a clearable box)


def main_expanders(page: Page) -> Locator:
    """The expanders of the main area (one per dataset on the Data page)."""
    return page.locator('[data-testid="stMain"] [data-testid="stExpander"]')


def settled(elements: Locator, rounds: int = 4) -> Locator:
    """``elements`` once their number has stopped changing (the script has finished drawing)."""
    seen = [-1]
    while len(seen) < rounds or len(set(seen[-rounds:])) > 1:
        elements.page.wait_for_timeout(250)
        seen.append(elements.count())
    return elements


def settled_metrics(page: Page) -> list[str]:
    """The metric cards once they show one labeler (the view of the copy-link test)."""
    cards = page.locator('[data-testid="stMetric"]')
    expect(cards.filter(has_text="Labelers")).to_have_text(
        re.compile(r"Labelers\s*1$"), timeout=TIMEOUT_MS
    )
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=TIMEOUT_MS)
    expect(cards.nth(3)).to_be_visible(timeout=TIMEOUT_MS)
    return cards.all_inner_texts()[:4]  # the design cards; the agreement cards load later


def shoot(page: Page, folder: Path, name: str) -> None:
    """Save a screenshot once the page has settled (tables drawn, script idle)."""
    for table in page.locator('[data-testid="stDataFrame"]').all():
        if table.is_visible():
            expect(table.locator("canvas").first).to_be_attached(timeout=TIMEOUT_MS)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=TIMEOUT_MS)
    page.wait_for_timeout(800)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def upload(page: Page, path: Path, dataset: str | None = None) -> None:
    """Upload a file in the Data page's import section and press Import."""
    page.locator('[data-testid="stFileUploader"]').first.locator(
        'input[type="file"]'
    ).set_input_files(str(path))
    if dataset is not None:
        name = page.get_by_label("Dataset name")
        name.fill(dataset)
        name.press("Enter")
    button = page.get_by_role("button", name="Import", exact=True)
    expect(button).to_be_enabled(timeout=TIMEOUT_MS)
    button.click()


def test_a_shared_link_is_the_first_request_to_a_fresh_server(
    fresh_server: Running, page: Page, screenshots: Path
) -> None:
    url = f"{fresh_server.url}/Data?dataset=tools&round=2&meta.site=south"
    open_view(
        page,
        url,
        "Data of dataset 'tools': round 2, items with site = south, all labelers.",
    )
    assert page.url == url
    expect(combobox(page, "Round")).to_have_value("Round 2")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shoot(page, screenshots, "data-first-request")


def test_copy_link_reopens_the_same_view(
    server: Running, browser: Browser, page: Page, screenshots: Path
) -> None:
    open_view(page, f"{server.url}/?dataset=inspection", INSPECTION)
    choose(page, "stSelectbox", "Round", "Round 2")
    expected = "Overview of dataset 'inspection': round 2, all items, all labelers."
    expect(sentence(page)).to_have_text(expected, timeout=TIMEOUT_MS)
    # the next filter once the first is in the address bar and the page has finished
    # (its recommendations, last on the page, are there)
    expect(page).to_have_url(re.compile(r"round=2"), timeout=TIMEOUT_MS)
    expect(page.get_by_text("What to do next", exact=True)).to_be_visible(timeout=3 * TIMEOUT_MS)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=TIMEOUT_MS)
    choose(page, "stMultiSelect", "Labelers", "insp_07")
    expected = "Overview of dataset 'inspection': round 2, all items, labeler insp_07."
    expect(sentence(page)).to_have_text(expected, timeout=TIMEOUT_MS)
    link = sidebar(page).locator('[data-testid="stCode"]')
    expect(link).to_contain_text("labelers=insp_07", timeout=TIMEOUT_MS)
    copied = link.inner_text().strip()
    assert copied == f"{server.url}/?dataset=inspection&round=2&labelers=insp_07"
    assert page.url == copied
    metrics = settled_metrics(page)
    shoot(page, screenshots, "overview-filtered")

    other = browser.new_context(viewport={"width": 1400, "height": 2000})
    try:
        fresh = other.new_page()
        open_view(fresh, copied, expected)
        assert settled_metrics(fresh) == metrics
        expect(
            sidebar(fresh).locator('[data-testid="stMultiSelect"]').filter(has_text="Labelers")
        ).to_contain_text("insp_07")
    finally:
        other.close()


def test_navigation_keeps_dataset_and_filters(
    server: Running, page: Page, screenshots: Path
) -> None:
    open_view(
        page,
        f"{server.url}/?dataset=inspection&round=all&meta.camera=cam_C",
        "Overview of dataset 'inspection': all rounds pooled, items with camera = cam_C, all labelers.",
    )
    shoot(page, screenshots, "overview")
    sidebar(page).get_by_role("link", name="Data").click()
    expect(sentence(page)).to_have_text(
        "Data of dataset 'inspection': all rounds pooled, items with camera = cam_C, all labelers.",
        timeout=TIMEOUT_MS,
    )
    assert page.url.endswith("/Data?dataset=inspection&round=all&meta.camera=cam_C")
    expect(combobox(page, "Round")).to_have_value("All rounds pooled")


def labelstudio_export() -> list[dict[str, object]]:
    """Two tasks, two annotators (an int id and a user object), one disagreement."""
    tasks: list[dict[str, object]] = []
    for task, labels in ((1, ("positive", "positive")), (2, ("positive", "negative"))):
        annotations = []
        for n, (who, label) in enumerate(
            zip((3, {"id": 4, "email": "b@example.com"}), labels, strict=True)
        ):
            annotations.append(
                {
                    "id": 10 * task + n,
                    "completed_by": who,
                    "result": [
                        {
                            "id": f"r{task}{n}",
                            "type": "choices",
                            "from_name": "sentiment",
                            "to_name": "text",
                            "value": {"choices": [label]},
                        }
                    ],
                    "was_cancelled": False,
                    "ground_truth": False,
                    "lead_time": 4.2,
                    "created_at": "2025-03-03T10:00:00Z",
                }
            )
        tasks.append({"id": task, "data": {"text": f"review {task}"}, "annotations": annotations})
    return tasks


def test_upload_a_label_studio_export(
    server: Running, page: Page, tmp_path: Path, screenshots: Path
) -> None:
    export = tmp_path / "reviews.json"
    export.write_text(json.dumps(labelstudio_export()))
    open_view(
        page,
        f"{server.url}/Data?dataset=inspection",
        "Data of dataset 'inspection': each item's latest round, all items, all labelers.",
    )
    upload(page, export, dataset="Reviews")
    success = page.locator('[data-testid="stAlertContentSuccess"]')
    expect(success).to_contain_text(
        "reviews.json: imported 4 rows (labelstudio-json) into dataset 'reviews', round 1.",
        timeout=TIMEOUT_MS,
    )
    expect(main_expanders(page).filter(has_text="reviews")).to_have_count(1)
    shoot(page, screenshots, "data-upload")
    page.get_by_role("button", name="Make 'reviews' the active dataset").click()
    expect(sentence(page)).to_have_text(
        "Data of dataset 'reviews': each item's latest round, all items, all labelers.",
        timeout=TIMEOUT_MS,
    )
    assert page.url.endswith("/Data?dataset=reviews")


def test_upload_a_broken_file(
    server: Running, page: Page, tmp_path: Path, screenshots: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": 1, "annotations": [')
    open_view(
        page,
        f"{server.url}/Data?dataset=inspection",
        "Data of dataset 'inspection': each item's latest round, all items, all labelers.",
    )
    datasets = main_expanders(page)
    tables = page.locator('[data-testid="stDataFrame"]')
    expect(datasets.filter(has_text="inspection (active)")).to_be_visible(timeout=TIMEOUT_MS)
    expanders_before = settled(datasets).all_inner_texts()
    tables_before = settled(tables).count()
    upload(page, broken)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_text(
        "1 problem in broken.json; nothing was imported", timeout=TIMEOUT_MS
    )
    expect(page.get_by_text("Nothing was written to the store.", exact=False)).to_be_visible()
    # one more table (the problems), and no new dataset
    expect(tables).to_have_count(tables_before + 1)
    assert settled(datasets).all_inner_texts() == expanders_before
    shoot(page, screenshots, "data-problems")


def test_unknown_dataset_in_a_link(server: Running, page: Page, screenshots: Path) -> None:
    open_view(page, f"{server.url}/?dataset=nope", "Overview: no dataset selected.")
    expect(page.locator('[data-testid="stAlertContentError"]')).to_contain_text(
        "Dataset 'nope' not found in the store. Datasets: inspection"
    )
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shoot(page, screenshots, "overview-unknown-dataset")
