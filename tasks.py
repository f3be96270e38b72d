#!/usr/bin/env python3
"""Run Facet or its test suite on a fresh machine with only Python 3.11+.

    python3 tasks.py serve   # install, migrate, seed, serve http://127.0.0.1:8000
    python3 tasks.py test    # install, lint, format check, layering contracts, every test

Each command installs what it needs from the committed lock file (uv.lock),
bootstrapping a pinned uv into .tools/ on first use. The contract tests also need Node.js 20+
with npm; they install their npm packages from clients/typescript/package-lock.json themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV_VERSION = "0.13.9"
TOOLS = ROOT / ".tools"


def _uv() -> str:
    # A pinned uv, so every machine reads uv.lock the same way.
    tool_bin = TOOLS / ("Scripts" if os.name == "nt" else "bin")
    uv = tool_bin / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        print(f"bootstrapping uv {UV_VERSION} into .tools/", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        python = tool_bin / ("python.exe" if os.name == "nt" else "python")
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"], check=True
        )
    return str(uv)


def _run(*args: str, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, cwd=ROOT, check=True, env=env)


def _sync(uv: str, *, dev: bool) -> None:
    _run(uv, "sync", "--locked", *([] if dev else ["--no-dev"]))


def serve(extra: list[str]) -> None:
    uv = _uv()
    _sync(uv, dev=False)
    _run(uv, "run", "--no-sync", "facet", "serve", *extra)


def _ensure_chromium() -> None:
    """The docs test drives a headless Chromium; install Debian's when it is missing and
    this machine can (apt-get, as root). Otherwise that test says what is missing."""
    if shutil.which("chromium") or not shutil.which("apt-get"):
        return
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        print("chromium is missing: `sudo apt-get install -y chromium` runs the docs test")
        return
    install = ["apt-get", "install", "-y", "chromium"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("+", " ".join(install), flush=True)
    if subprocess.run(install, check=False, env=env).returncode != 0:
        # A fresh image has no package lists yet.
        _run("apt-get", "update", env=env)
        _run(*install, env=env)


def test(extra: list[str]) -> None:
    uv = _uv()
    _sync(uv, dev=True)
    _ensure_chromium()
    _run(uv, "run", "--no-sync", "ruff", "check", ".")
    _run(uv, "run", "--no-sync", "ruff", "format", "--check", ".")
    # The layering contracts (pyproject.toml, [tool.importlinter]).
    _run(uv, "run", "--no-sync", "lint-imports")
    _run(uv, "run", "--no-sync", "pytest", *extra)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test"}:
        print(__doc__)
        return 2
    command, extra = sys.argv[1], sys.argv[2:]
    try:
        {"serve": serve, "test": test}[command](extra)
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
