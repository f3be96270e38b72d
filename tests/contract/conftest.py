"""The Node toolchain of the contract tests: the packages pinned in
clients/typescript/package-lock.json (openapi-typescript, openapi-fetch, TypeScript, Redocly
CLI), installed with `npm ci` only when the lock file changed since the last install."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from app.cli import OPENAPI_PATH, PROJECT_ROOT
from tests.conftest import unavailable
from tests.processes import free_port

CLIENT_DIR = PROJECT_ROOT / "clients" / "typescript"
# The document the storefront client is generated from and its flow is checked against.
STOREFRONT_SPEC = OPENAPI_PATH
# Every published document (the storefront's, and any other beside it) is validated and linted.
PUBLISHED_SPECS = sorted(OPENAPI_PATH.parent.glob("*.json"))
_INSTALLED_STAMP = CLIENT_DIR / "node_modules" / ".installed-from.sha256"


def run(
    args: Sequence[str | Path],
    *,
    cwd: Path = CLIENT_DIR,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion, capturing its output (the caller judges the exit code)."""
    return subprocess.run(  # noqa: S603 - our own pinned tools, no shell
        [str(arg) for arg in args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def node_env() -> dict[str, str]:
    # Redocly CLI would otherwise report usage and look for updates over the network.
    return {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}


@pytest.fixture(scope="session")
def node_bin() -> Path:
    """node_modules/.bin of the client, installed from the committed lock file when needed."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        unavailable("Node.js with npm", "`node` or `npm` is not on PATH")
        raise AssertionError  # unreachable: unavailable() skips or fails
    lock = CLIENT_DIR / "package-lock.json"
    digest = hashlib.sha256((CLIENT_DIR / "package.json").read_bytes() + lock.read_bytes())
    wanted = digest.hexdigest()
    if not _INSTALLED_STAMP.exists() or _INSTALLED_STAMP.read_text() != wanted:
        installed = run([npm, "ci", "--no-audit", "--no-fund"], env=node_env())
        if installed.returncode != 0:
            pytest.fail(f"npm ci failed:\n{installed.stdout}\n{installed.stderr}")
        _INSTALLED_STAMP.write_text(wanted)
    return CLIENT_DIR / "node_modules" / ".bin"


@contextmanager
def serving(application: FastAPI) -> Iterator[str]:
    """`application` behind a real uvicorn server on a loopback port, run in a thread of this
    process (a second interpreter would spend seconds importing the app again); yields its URL."""
    port = free_port()
    # log_config=None: leave the test process's logging as it is.
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the uvicorn server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
