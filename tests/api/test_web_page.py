"""The investigator web page: its routes, then the page in a real headless Chromium.

The route tests use the app in-process. The browser tests run ``ringscope serve`` in its
own process over a copy of the session's ``full`` snapshot (see ``conftest.py``) with a
real SQLite verdict store, and drive the system's Debian ``chromium`` with Playwright (no
downloaded Playwright browsers). They read what the page shows and check it against what
the API answers; the verdict test checks that a click lands in the store by asking the API
afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright

from ringscope.api.app import create_app
from ringscope.api.routes.pages import STATIC_DIR
from ringscope.store import open_store
from tests.api.conftest import Snapshots, publish_copy

CHROMIUM = shutil.which("chromium")
NO_CHROMIUM = (
    "no `chromium` binary on PATH: install the Debian package `chromium` "
    "(`make install` does when apt-get is available)"
)
SCREENSHOT = Path(__file__).resolve().parents[1] / "artifacts" / "web_page.png"
PAGE_SIZE = 25  # DEFAULT_PAGE_SIZE in queue.js
STARTUP_TIMEOUT_S = 60.0
UI_TIMEOUT_MS = 20_000
INVESTIGATOR = "web-investigator"


def browser_test(test: Callable) -> Callable:
    """Mark a test that drives Chromium: ``browser`` and ``slow``; skipped without chromium."""
    marks = (
        pytest.mark.browser,
        pytest.mark.slow,
        pytest.mark.skipif(not CHROMIUM, reason=NO_CHROMIUM),
    )
    for mark in marks:
        test = mark(test)
    return test


# ---------- routes (in-process) ----------


def test_shell_and_assets_need_no_key(client):
    for path in ("/", "/ui/clusters/c123", "/ui/anything/else"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert '<base href="/">' in page.text
        assert 'src="static/js/app.js"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/static/js/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/css/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 200


def test_static_serves_only_files_of_the_page(client):
    for path in ("/static/nope.js", "/static/js", "/static/%2e%2e/routes/pages.py", "/static/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "no static asset" in response.json()["detail"]


def test_vendored_cytoscape_matches_its_readme(client):
    readme = (STATIC_DIR / "vendor" / "README.md").read_text(encoding="utf-8")
    version = re.search(r"\| Cytoscape\.js \| ([0-9.]+) \|", readme).group(1)
    digest = re.search(r"sha256 `([0-9a-f]{64})`", readme).group(1)
    served = client.get("/static/vendor/cytoscape.min.js")
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == digest
    assert f"cytoscape@{version}" in readme
    assert client.get("/static/vendor/cytoscape.LICENSE").text.startswith("Copyright")


def test_api_docs_are_served_from_the_package(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', re.sub(r"<base [^>]*>", "", docs.text))
    assert sources and not [s for s in sources if "//" in s or s.startswith("/")], sources
    readme = (STATIC_DIR / "vendor" / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if "Swagger UI" in line)
    for name, digest in re.findall(r"`package/([\w.-]+)` \(sha256 `([0-9a-f]{64})`\)", row):
        served = client.get(f"/static/vendor/{name}")
        assert served.status_code == 200, name
        assert hashlib.sha256(served.content).hexdigest() == digest, name
    assert client.get("/static/vendor/swagger-ui.LICENSE").text.strip().startswith("Apache")
    assert client.get("/redoc").status_code == 404


def test_shell_follows_the_root_path(settings, keys):
    with TestClient(create_app(settings), root_path="/ringscope") as prefixed:
        page = prefixed.get("/ringscope/ui/clusters/c1")
    assert page.status_code == 200
    assert '<base href="/ringscope/">' in page.text


# ---------- the page in Chromium ----------


@dataclass(frozen=True)
class Server:
    """A running ``ringscope serve`` process and an investigator key for it."""

    url: str
    key: str
    service_key: str

    def api(self, path: str, **params: object) -> dict:
        """GET an API path with the investigator key; the decoded JSON."""
        response = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"ringscope serve exited with {process.returncode}:\n{output}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"ringscope serve not ready within {STARTUP_TIMEOUT_S:.0f} s")


@pytest.fixture(scope="module")
def server(snapshots: Snapshots, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ringscope serve`` on a free port over copies of ``early`` and then ``full`` (served)."""
    base = tmp_path_factory.mktemp("web-page")
    root = base / "root"
    publish_copy(snapshots.early, root)
    publish_copy(snapshots.full, root)
    database_url = f"sqlite:///{base / 'verdicts.sqlite3'}"
    store = open_store(database_url)
    try:
        key = store.create_key(INVESTIGATOR, "investigator")[1]
        service_key = store.create_key("web-service", "service")[1]
    finally:
        store.close()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "ringscope.cli", "serve", "--snapshot", str(root)]
    command += ["--port", str(port), "--database-url", database_url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_ready(process, url)
        yield Server(url=url, key=key, service_key=service_key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def script_errors() -> list[str]:
    """Uncaught exceptions and console errors of the test's tab, filled while it runs."""
    return []


@pytest.fixture
def page(browser, script_errors: list[str]) -> Iterator[object]:
    """A fresh tab (own sessionStorage) that records every script error."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(UI_TIMEOUT_MS)
    tab.on("pageerror", lambda exc: script_errors.append(f"uncaught: {exc}"))
    tab.on(
        "console",
        lambda msg: script_errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    yield tab
    context.close()


def _enter_key(page, key: str) -> None:
    """Type a key into the key prompt and submit it."""
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")


def _sign_in(page, server: Server, path: str = "/") -> None:
    """Open the page; it asks for a key first; give it the investigator key."""
    page.goto(f"{server.url}{path}")
    expect(page.locator("#key-dialog")).to_be_visible()
    _enter_key(page, server.key)


@browser_test
def test_api_docs_render_without_other_origins(page, server, script_errors):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{server.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ringscope")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert requested and all(url.startswith(server.url) for url in requested), requested
    assert script_errors == []


@browser_test
def test_queue_renders_the_ranked_clusters(page, server, script_errors):
    expected = server.api("/v1/clusters", limit=PAGE_SIZE)
    _sign_in(page, server)
    rows = page.locator("#queue-table tbody tr.clickable")
    expect(rows).to_have_count(len(expected["items"]))
    assert len(expected["items"]) > 0
    shown = [rows.nth(i).get_attribute("data-cluster-id") for i in range(rows.count())]
    assert shown == [c["cluster_id"] for c in expected["items"]]
    first = rows.first
    expect(first.locator("td.rank")).to_have_text("#1")
    expect(first.locator(".bar-value")).to_have_text(f"{expected['items'][0]['score']:.2f}")
    expect(page.locator("#snapshot-pill")).to_contain_text(expected["snapshot_id"])

    # Keyboard: j moves down the rows, Enter opens the highlighted cluster.
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bactive\b"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ui/clusters/{expected['items'][1]['cluster_id']}")

    # The theme switch flips the palette and is remembered across loads.
    html = page.locator("html")
    before = html.get_attribute("data-theme")
    page.click("#theme-toggle")
    after = "dark" if before == "light" else "light"
    expect(html).to_have_attribute("data-theme", after)
    page.reload()
    expect(html).to_have_attribute("data-theme", after)
    assert script_errors == []


@browser_test
def test_queue_filters_travel_in_the_url(page, server, script_errors):
    big = server.api("/v1/clusters", min_size=5, limit=PAGE_SIZE)
    _sign_in(page, server, "/?min_size=5")
    count = page.locator(".page-head .sub")
    expect(count).to_contain_text(f"{big['total']} clusters")
    rows = page.locator("#queue-table tbody tr.clickable")
    expect(rows).to_have_count(len(big["items"]))
    sizes = [int(rows.nth(i).locator("td.num").nth(1).inner_text()) for i in range(rows.count())]
    assert sizes and min(sizes) >= 5
    expect(page.locator("input[name=min_size]")).to_have_value("5")

    page.fill("input[name=min_size]", "")
    page.select_option("select[name=kind]", "victims")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r"/\?kind=victims$"))
    victims = server.api("/v1/clusters", kind="victims", limit=PAGE_SIZE)
    expect(count).to_contain_text(f"{victims['total']} clusters")
    expect(rows).to_have_count(len(victims["items"]))
    assert script_errors == []


def _ids(page_of_clusters: dict) -> list[str]:
    return [c["cluster_id"] for c in page_of_clusters["items"]]


@browser_test
def test_queue_pages_with_the_cursor(page, server, script_errors):
    first = server.api("/v1/clusters", limit=5)
    second = server.api("/v1/clusters", limit=5, cursor=first["next_cursor"])
    assert len(first["items"]) == 5 and second["items"]
    _sign_in(page, server, "/?limit=5")
    rows = page.locator("#queue-table tbody tr.clickable")

    def shown() -> list[str]:
        return [rows.nth(i).get_attribute("data-cluster-id") for i in range(rows.count())]

    expect(rows).to_have_count(5)
    assert shown() == _ids(first)
    expect(page.locator("#prev-page")).to_be_disabled()
    expect(page.locator("select[name=limit]")).to_have_value("5")

    page.click("#next-page")
    expect(rows.first).to_have_attribute("data-cluster-id", _ids(second)[0])
    assert shown() == _ids(second)
    assert "cursor=" in page.url
    expect(page.locator(".table-foot")).to_contain_text(f"Showing 6–{5 + len(_ids(second))}")

    page.click("#prev-page")
    expect(rows.first).to_have_attribute("data-cluster-id", _ids(first)[0])
    page.go_back()
    expect(rows.first).to_have_attribute("data-cluster-id", _ids(second)[0])
    assert script_errors == []


@browser_test
def test_review_lane_tab_shows_the_clusters_that_teach_most(page, server, script_errors):
    lane = server.api("/v1/clusters", lane="teach", limit=PAGE_SIZE)
    assert lane["items"], "without verdicts the lane holds clusters near the prior's boundary"
    _sign_in(page, server)
    page.click("#lanes button[data-lane=teach]")
    page.wait_for_url(re.compile(r"/\?lane=teach$"))
    rows = page.locator("#queue-table tbody tr.clickable")
    expect(rows).to_have_count(len(lane["items"]))
    assert [rows.nth(i).get_attribute("data-cluster-id") for i in range(rows.count())] == _ids(lane)
    expect(rows.first.locator("[data-teach]")).to_have_text("teaches")
    expect(rows.first.locator(".teach-reason")).to_have_text(lane["items"][0]["teach_reason"])
    expect(page.locator("#lanes button[data-lane=teach]")).to_have_attribute("aria-pressed", "true")
    rows.first.click()
    expect(page.locator("#learned")).to_contain_text("Not used in this snapshot")
    assert script_errors == []


@browser_test
def test_cluster_opens_draws_its_graph_and_records_a_verdict(page, server, script_errors, capsys):
    _sign_in(page, server)
    first = page.locator("#queue-table tbody tr.clickable").first
    cluster_id = first.get_attribute("data-cluster-id")
    first.click()
    page.wait_for_url(f"**/ui/clusters/{cluster_id}")
    detail = server.api(f"/v1/clusters/{cluster_id}")
    graph = server.api(f"/v1/clusters/{cluster_id}/graph", max_nodes=200)
    expect(page.locator("h1")).to_have_text(f"Cluster #{detail['rank']}")

    # The graph is drawn: Cytoscape holds every node and edge the API gave, on a real canvas.
    page.wait_for_selector("#graph[data-nodes]")
    drawn = page.evaluate(
        "() => ({nodes: window.__cy.nodes().length, edges: window.__cy.edges().length,"
        " canvases: [...document.querySelectorAll('#graph canvas')]"
        ".filter(c => c.width > 0 && c.height > 0).length})"
    )
    assert drawn["nodes"] == len(graph["nodes"]) > 0
    assert drawn["edges"] == len(graph["edges"])
    assert drawn["canvases"] > 0
    nodes, links = len(graph["nodes"]), len(graph["edges"])
    expect(page.locator("#graph-note")).to_have_text(f"{nodes} actors · {links} links")

    # Tapping a link shows its evidence layers in the side panel.
    layers = page.evaluate(
        "() => { const e = window.__cy.edges()[0]; e.emit('tap'); return e.data('layers'); }"
    )
    expect(page.locator("#graph-panel h2")).to_have_text("Coordination link")
    expect(page.locator("#graph-panel .chip")).to_have_count(len(layers))

    with page.expect_download() as download:
        page.click("#graph-png")
    assert download.value.suggested_filename == f"ring-{cluster_id}.png"

    # Score breakdown, evidence and members show what the API explains.
    expect(page.locator("#signals .signal")).to_have_count(len(detail["signals"]))
    expect(page.locator("#evidence tbody tr")).to_have_count(len(detail["evidence"]))
    members = page.locator("#members tbody tr")
    expect(members).to_have_count(len(detail["members"]["items"]))

    # Clicking a member selects it in the graph and lists its neighbours from /v1/actors.
    actor_id = detail["members"]["items"][0]["actor_id"]
    actor = server.api(f"/v1/actors/{actor_id}")
    members.first.click()
    expect(page.locator(f"#graph-panel h2[data-actor-id='{actor_id}']")).to_be_visible()
    expect(page.locator("#neighbours li")).to_have_count(min(len(actor["neighbours"]), 30))
    assert page.evaluate(f"() => window.__cy.getElementById('{actor_id}').selected()")

    # A verdict with a note goes to the server and shows in the history and the header.
    note = "Same devices and signup burst; confirmed from the browser test."
    page.fill("#verdict-note", note)
    page.click("#verdict-confirm")
    latest = page.locator("#verdict-history li").first
    expect(latest).to_contain_text("Confirmed")
    expect(latest).to_contain_text(note)
    expect(latest).to_contain_text(INVESTIGATOR)
    expect(page.locator("#current-verdict")).to_have_text("Confirmed")
    expect(page.locator("#verdict-note")).to_have_value("")

    stored = server.api(f"/v1/clusters/{cluster_id}/verdicts")["items"][0]
    assert (stored["verdict"], stored["note"], stored["investigator"]) == (
        "confirmed",
        note,
        INVESTIGATOR,
    )

    # A reload reads the history back from the server; the queue shows the verdict too.
    page.reload()
    expect(page.locator("#verdict-history li").first).to_contain_text(note)
    page.click("a.back")
    row = page.locator(f"#queue-table tr[data-cluster-id='{cluster_id}']")
    expect(row.locator("[data-verdict]")).to_have_text("Confirmed")

    page.goto(f"{server.url}/ui/clusters/{cluster_id}")
    page.wait_for_selector("#graph[data-nodes]")
    page.locator("#members tbody tr").first.click()
    page.wait_for_selector("#neighbours")
    page.evaluate("() => window.scrollTo({top: 0, behavior: 'instant'})")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
    with capsys.disabled():
        sys.stdout.write(f"\nweb page screenshot: {SCREENSHOT}\n")
    assert script_errors == []


@browser_test
def test_drift_panel_shows_the_snapshots_over_time(page, server, script_errors):
    stats = server.api("/v1/stats", history=20)
    assert len(stats["history"]) == 2
    _sign_in(page, server)
    page.click("nav.topnav a[href='ui/drift']")
    page.wait_for_url("**/ui/drift")
    expect(page.locator("#stat-events .value")).to_have_text(f"{stats['run']['events']:,}")
    expect(page.locator("#stat-clusters .value")).to_have_text(f"{stats['scores']['clusters']:,}")
    rows = page.locator("#drift-history tbody tr")
    expect(rows).to_have_count(2)
    shown = [rows.nth(i).get_attribute("data-snapshot") for i in range(2)]
    assert shown == [s["snapshot_id"] for s in stats["history"]]
    bars = page.locator("#drift-scores .hist-bar")
    expect(bars).to_have_count(10)
    heights = [int(bars.nth(i).get_attribute("data-clusters")) for i in range(10)]
    assert heights == [b["clusters"] for b in stats["scores"]["histogram"]]
    layers = page.locator("#drift-evidence tbody tr")
    assert sorted(
        layers.nth(i).get_attribute("data-layer") for i in range(layers.count())
    ) == sorted({e["layer"] for h in stats["history"] for e in h["evidence"]})
    for status, count in stats["churn"].items():
        expect(page.locator(f"#churn-{status} .value")).to_have_text(f"{count:,}")
    expect(page.locator("#drift-stream")).to_have_count(0)  # no --ingest: no stream card
    assert script_errors == []


@browser_test
def test_errors_show_a_clear_banner(page, server, script_errors):
    page.goto(server.url)
    _enter_key(page, "rsk_not-a-real-key")
    banner = page.locator("#banner")
    expect(banner).to_contain_text("not accepted (401)")
    expect(page.locator("#key-dialog")).to_be_visible()

    _enter_key(page, server.service_key)
    expect(banner).to_contain_text("(403)")
    expect(banner).to_contain_text("investigator")
    expect(page.locator("#load-error")).to_be_visible()

    page.click("#key-button")
    _enter_key(page, server.key)
    expect(banner).to_be_hidden()
    expect(page.locator("#queue-table tbody tr.clickable").first).to_be_visible()

    page.goto(f"{server.url}/ui/clusters/no-such-cluster")
    expect(banner).to_contain_text("(404)")
    expect(banner).to_contain_text("no-such-cluster")

    # "Forget key" drops the key from the tab and asks again.
    page.click("#key-button")
    page.click("#key-forget")
    expect(page.locator("#key-dialog")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0
    # The browser logs each refused request itself; there is no script error beyond those.
    assert script_errors
    assert all("Failed to load resource" in e for e in script_errors), script_errors
