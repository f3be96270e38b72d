"""Free loopback ports, and real API processes for tests that need more than one: uvicorn
subprocesses of the app factory, configured through FACET_* variables."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.cli import PROJECT_ROOT
from tests.conftest import TEST_JWT_SECRET


def free_port() -> int:
    """A loopback port nothing listens on (for a server to take, or a call to find closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextmanager
def api_processes(
    database_url: str, folder: Path, *, count: int = 2, **settings: str
) -> Iterator[list[str]]:
    """`count` API processes serving one database; yields their base URLs, stops them after.

    `settings` are extra FACET_* variables (e.g. FACET_CHECKOUT_MAX_PER_IP="10000"). Each
    process writes its output to a log in `folder`, shown if the process fails to start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env.update(
        FACET_ENV="test",
        FACET_DATABASE_URL=database_url,
        FACET_JWT_SECRET=TEST_JWT_SECRET,
        FACET_OUTBOX_IN_PROCESS="false",
        FACET_LOG_LEVEL="WARNING",
        FACET_MAIL_DIR=str(folder / "mail"),
    )
    env.update(settings)
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    logs = [folder / f"api-{index}.log" for index in range(count)]
    try:
        for log in logs:  # all start at once; then wait for each
            port = free_port()
            with log.open("wb") as sink:
                processes.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter and module
                        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                        cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip
            urls.append(f"http://127.0.0.1:{port}")
        for url, process, log in zip(urls, processes, logs, strict=True):
            wait_until_serving(url, process, log)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_serving(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180  # a machine busy with other work starts slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"API process exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"API process did not start:\n{log.read_text()}")
