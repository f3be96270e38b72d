"""Browser and operating-system families from a User-Agent header, and nothing finer.

A small parser for the main families, kept behind `parse_user_agent` so a fuller
library (ua-parser) can replace it without touching callers. Versions, devices and
build strings are never returned: only the coarse family names P4 allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OTHER = "Other"

# Order matters: Chromium-based browsers also say "Chrome", Chrome also says "Safari",
# and iOS browsers carry their own token beside "Safari".
_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Bot", re.compile(r"bot\b|crawler|spider|slurp|bingpreview|facebookexternalhit", re.I)),
    ("curl", re.compile(r"^curl/", re.I)),
    ("Edge", re.compile(r"\bEdg(e|A|iOS)?/")),
    ("Opera", re.compile(r"\bOPR/|\bOpera\b|\bOPT/")),
    ("Firefox", re.compile(r"\b(Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"\b(Chrome|CriOS|Chromium)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*\bSafari/")),
)

_SYSTEMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iOS", re.compile(r"\b(iPhone|iPad|iPod)\b|\biOS\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Linux", re.compile(r"\bLinux\b|\bX11\b")),
)

MAX_HEADER_LENGTH = 1024


@dataclass(frozen=True)
class UserAgentFamilies:
    browser: str
    os: str


def _first_match(candidates: tuple[tuple[str, re.Pattern[str]], ...], text: str) -> str:
    return next((name for name, pattern in candidates if pattern.search(text)), OTHER)


def parse_user_agent(header: str | None) -> UserAgentFamilies:
    """The browser and OS families of a User-Agent header ("Other" when unknown)."""
    if not header:
        return UserAgentFamilies(OTHER, OTHER)
    text = header[:MAX_HEADER_LENGTH]
    return UserAgentFamilies(_first_match(_BROWSERS, text), _first_match(_SYSTEMS, text))
