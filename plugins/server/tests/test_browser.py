"""The web pages in a real browser: Playwright drives Debian's Chromium against uvicorn.

Upload a real package through /ui/upload and wait for its checks, find it again through
/ui/search with an RKME of similar data, then browse and filter it on /. Skipped only when
Playwright is not installed or /usr/bin/chromium is missing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from server_helpers import LiveServer

from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_server.app import create_app
from learnware_dock_server.settings import ServerSettings

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError as exc:  # pragma: no cover - depends on the environment
    PLAYWRIGHT_MISSING: str | None = f"playwright is not importable: {exc}"
else:
    PLAYWRIGHT_MISSING = None

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"]
FINAL = ("USABLE", "NONUSABLE", "INVALID", "FAILED", "error")

if PLAYWRIGHT_MISSING or not CHROMIUM.exists():
    WHY = PLAYWRIGHT_MISSING or f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("DOCK_REQUIRE_BROWSER") == "1":  # CI installs it: never skip there
        raise RuntimeError(f"DOCK_REQUIRE_BROWSER=1 but {WHY}")
    print(f"skipping the browser tests: {WHY}")
    pytest.skip(WHY, allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; fails the test if the page's JavaScript throws."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    folder = Path(os.environ["DOCK_ARTEFACTS"]) if os.environ.get("DOCK_ARTEFACTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def rkme_file(folder: Path, seed: int) -> Path:
    """The RKME of data like the package's (same distribution, other draws)."""
    X = np.random.default_rng(seed).normal(size=(60, 4))
    path = folder / "user-rkme.json"
    path.write_text(json.dumps(RKMETableSpecification.generate(X, K=20).to_json()))
    return path


def fill_semantic_form(page: Page, name: str) -> None:
    page.fill("#name", name)
    page.fill("#description", "a two-class table classifier uploaded from the browser")
    page.select_option("#sem-data", "Table")
    page.select_option("#sem-task", "Classification")
    page.select_option("#sem-library", "Scikit-learn")
    page.select_option("#sem-scenario", ["Education"])
    page.select_option("#sem-license", "MIT")
    page.fill("#input-dim", "4")
    page.fill("#output-dim", "2")


def final_status(page: Page, timeout_ms: float) -> str:
    page.wait_for_function(
        f"() => {json.dumps(list(FINAL))}.includes("
        "document.querySelector('#upload-status').dataset.status)",
        timeout=timeout_ms,
    )
    return page.inner_text("#upload-status").strip()


def listed_ids(page: Page) -> list[str]:
    return [row.get_attribute("data-id") or "" for row in page.query_selector_all("tr.learnware")]


def test_upload_then_search_then_browse(
    page: Page,
    live: Any,
    token: str,
    make_package: Callable[..., Path],
    tmp_path: Path,
    artefacts: Path,
) -> None:
    package = make_package("browser-upload")
    name = "alpha browser classifier"

    # upload: token + zip + semantic form -> 202, then the page polls until the checks end
    page.goto(f"{live.url}/ui/upload")
    page.fill("#token", token)
    page.set_input_files("#package", str(package))
    fill_semantic_form(page, name)
    page.click("#upload-submit")
    status = final_status(page, timeout_ms=120_000)
    message = page.inner_text("#upload-message")
    assert status == "USABLE", f"upload ended {status}: {message}"
    assert page.locator("#upload-report tbody tr").count() >= 1
    sent = json.loads(page.text_content("#spec-preview") or "")
    assert sent["Name"] == {"Type": "String", "Values": name}
    assert sent["Scenario"] == {"Type": "Tag", "Values": ["Education"]}
    assert sent["Input"] == {"Dimension": 4, "Description": {}}
    assert page.evaluate("localStorage.getItem('dockToken')") == token
    learnware_id = (page.get_attribute("#upload-link", "href") or "").rsplit("/", 1)[-1]
    assert learnware_id

    # detail: status, semantic spec, checker report and a working download link
    page.click("#upload-link")
    page.wait_for_url(f"**/ui/learnwares/{learnware_id}")
    assert page.inner_text("#lw-status") == "USABLE"
    assert name in page.inner_text("#semantic tr[data-key=Name]")
    assert page.locator("#report tbody tr").count() >= 1
    href = page.get_attribute("#download", "href")
    assert href == f"/learnwares/{learnware_id}/package"
    download = page.request.get(f"{live.url}{href}")
    assert download.ok and download.body()[:2] == b"PK"

    # search: an RKME file of similar data ranks the upload first, with a mixture weight
    page.goto(f"{live.url}/ui/search")
    page.set_input_files("#spec-file", str(rkme_file(tmp_path, seed=7)))
    page.click("#search-submit")
    page.wait_for_selector("table#results tbody tr.result")
    first = page.locator("table#results tbody tr.result").first
    assert first.get_attribute("data-id") == learnware_id
    assert first.locator("td.name").inner_text() == name
    score = float(first.locator("td.score").inner_text())
    assert 0.0 < score <= 1.0
    bars = page.locator(f".weight-row[data-id='{learnware_id}'] .weight-bar")
    assert bars.count() == 1 and bars.first.is_visible()
    assert float(bars.first.get_attribute("data-weight") or "nan") == pytest.approx(1.0)
    shot = artefacts / "server-search.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.exists() and shot.stat().st_size > 0

    # browse: listed, found by its name's words, hidden by a filter it does not match
    page.goto(f"{live.url}/")
    assert learnware_id in listed_ids(page)
    page.fill("#q", "alpha")
    page.click("#filter-submit")
    page.wait_for_url("**/?q=alpha*")
    assert listed_ids(page) == [learnware_id]
    page.fill("#q", "")
    page.select_option("#filter-license", "GPL-3.0")
    page.click("#filter-submit")
    page.wait_for_url("**license=GPL-3.0*")
    assert listed_ids(page) == []
    assert page.is_visible("#empty")


def test_upload_page_shows_api_errors(
    page: Page, live: Any, make_package: Callable[..., Path]
) -> None:
    """A refused upload (bad token) says why, with the API's error code."""
    page.goto(f"{live.url}/ui/upload")
    page.fill("#token", "dock_not-a-real-token")
    page.set_input_files("#package", str(make_package("refused")))
    fill_semantic_form(page, "refused")
    page.click("#upload-submit")
    assert final_status(page, timeout_ms=15_000) == "error"
    assert page.inner_text("#upload-message").startswith("unauthorized:")
    assert page.is_hidden("#upload-link")


def test_pages_render_and_stay_out_of_the_schema(page: Page, live: Any) -> None:
    """Every page renders with the vocabulary; an unknown id is an HTML 404."""
    for path, marker in (("/", "#filters"), ("/ui/upload", "#upload-form"),
                         ("/ui/search", "#search-form")):  # fmt: skip
        response = page.goto(f"{live.url}{path}")
        assert response is not None and response.status == 200, path
        assert page.is_visible(marker), path
    options = page.locator("#f-license option").all_inner_texts()
    assert "MIT" in options and "Apache-2.0" in options
    response = page.goto(f"{live.url}/ui/learnwares/99999999")
    assert response is not None and response.status == 404
    assert page.get_attribute("#error", "data-code") == "unknown_learnware"
    schema = page.request.get(f"{live.url}/openapi.json").json()
    assert "/learnwares" in schema["paths"]
    assert not [p for p in schema["paths"] if p == "/" or p.startswith(("/ui", "/static"))]


def test_private_reads_use_the_saved_token(page: Page, root: Path, token: str) -> None:
    """With private reads, pages answer 401 until the upload page saves a token."""
    settings = ServerSettings(market=root, public_reads=False)
    with LiveServer(create_app(settings)) as server:
        response = page.goto(f"{server.url}/")
        assert response is not None and response.status == 401
        assert page.get_attribute("#error", "data-code") == "unauthorized"
        page.goto(f"{server.url}/ui/upload")
        page.fill("#token", token)
        page.press("#token", "Tab")  # "change" saves it
        response = page.goto(f"{server.url}/?q=anything")
        assert response is not None and response.status == 200
        assert page.is_visible("#empty")
