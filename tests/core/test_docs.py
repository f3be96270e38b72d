"""The interactive docs work with no internet: every asset comes from the app itself.

A headless Chromium, cut off from every host but loopback, loads `/docs` and `/redoc`
from a live server and must find each storefront operation in the rendered page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.core.middleware import DOCS_CSP
from app.main import create_app
from tests.conftest import make_settings, unavailable
from tests.processes import free_port

DOCS_PAGES = {
    "/docs": "/openapi.json",
    "/redoc": "/openapi.json",
    "/admin/docs": "/admin/openapi.json",
    "/admin/redoc": "/admin/openapi.json",
}
_ASSET = re.compile(r'(?:src|href|spec-url|data-spec-url)="([^"]+)"')


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        unavailable("Chromium", "not installed (`python3 tasks.py test` installs it)")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real uvicorn on loopback, in a thread of this process (no second app import)."""
    folder = tmp_path_factory.mktemp("docs")
    # The docs need no table: an empty database is enough.
    app = create_app(make_settings(f"sqlite+aiosqlite:///{folder / 'docs.db'}"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def render_offline(chromium: str, urls: list[str], profiles: Path) -> list[tuple[str, str]]:
    """Each page's DOM once its scripts have run, with no host but loopback reachable:
    names do not resolve and every other address goes to a proxy that is not there.
    The browsers run side by side."""
    browsers = [
        subprocess.Popen(  # noqa: S603 - a fixed browser binary and our own URL
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--proxy-server=http://127.0.0.1:9",
                "--virtual-time-budget=5000",
                # The page's console (CSP violations included) goes to stderr.
                "--enable-logging=stderr",
                "--v=0",
                f"--user-data-dir={profiles / str(index)}",
                "--dump-dom",
                url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index, url in enumerate(urls)
    ]
    pages = []
    for browser in browsers:
        dom, console = browser.communicate(timeout=120)
        assert browser.returncode == 0, console[-2000:]
        pages.append((dom, console))
    return pages


@pytest.fixture(scope="module")
def rendered(
    chromium: str, live_api: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[str, str]]:
    """Each page's DOM and browser log."""
    pages = ["/docs", "/redoc"]
    doms = render_offline(chromium, [live_api + p for p in pages], tmp_path_factory.mktemp("cr"))
    return dict(zip(pages, doms, strict=True))


@pytest.fixture(scope="module")
def storefront_operations(live_api: str) -> list[tuple[str, str]]:
    """(tag, operationId) of every operation in the document the docs load."""
    spec = httpx.get(f"{live_api}/openapi.json").json()
    return [
        (op["tags"][0], op["operationId"])
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]


@pytest.mark.parametrize(
    ("page", "anchor"),
    [("/docs", 'id="operations-{tag}-{operation}"'), ("/redoc", 'operation/{operation}"')],
)
def test_docs_render_every_operation_with_no_network(
    rendered: dict[str, tuple[str, str]],
    storefront_operations: list[tuple[str, str]],
    page: str,
    anchor: str,
) -> None:
    dom, console = rendered[page]
    operations = storefront_operations
    missing = [op for tag, op in operations if anchor.format(tag=tag, operation=op) not in dom]
    assert not missing, f"{page} rendered without {len(missing)} operations: {missing[:5]}"
    # The storefront's docs show no staff operation.
    assert "adminListOrders" not in dom
    # Nothing the pages need is refused by their CSP. ReDoc's footer logo, hard-wired to
    # its CDN, is the one thing refused, and it hides itself when it cannot load.
    refused = [
        line
        for line in console.splitlines()
        if "Content Security Policy" in line and "cdn.redoc.ly/redoc/logo-mini.svg" not in line
    ]
    assert not refused, refused


@pytest.mark.parametrize("page", list(DOCS_PAGES))
def test_docs_pages_load_only_assets_the_app_serves(live_api: str, page: str) -> None:
    client = httpx.Client(base_url=live_api)
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == DOCS_CSP
    assets = _ASSET.findall(response.text)
    assert DOCS_PAGES[page] in assets
    assert any(a.endswith("favicon.png") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert fetched.content, asset


def test_the_docs_csp_allows_this_origin_only() -> None:
    directives: dict[str, Any] = {
        part.split()[0]: part.split()[1:] for part in DOCS_CSP.split(";") if part.strip()
    }
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]  # no inline script, no CDN
    for sources in directives.values():
        for source in sources:
            assert not source.startswith(("http", "*")), source
            assert "." not in source, source  # no host name
