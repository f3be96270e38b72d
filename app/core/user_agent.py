"""Browser and operating-system families from a User-Agent header, and nothing finer.

Parsing is ua-parser's (the uap-core regexes, maintained upstream), behind
`parse_user_agent` so callers never see the library. Only the coarse family names
P4 allows leave this module: versions, devices and build strings are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

OTHER = "Other"
# A header this long is noise or an attack; the families sit near its start.
MAX_HEADER_LENGTH = 512


@dataclass(frozen=True)
class UserAgentFamilies:
    browser: str
    os: str


@lru_cache(maxsize=4096)
def _families(text: str) -> UserAgentFamilies:
    # A miss costs about a millisecond of regex matching; real traffic repeats a few
    # hundred strings, so the cache answers nearly every request.
    result = parse(text)
    browser = result.user_agent.family if result.user_agent else OTHER
    system = result.os.family if result.os else OTHER
    return UserAgentFamilies(browser or OTHER, system or OTHER)


def parse_user_agent(header: str | None) -> UserAgentFamilies:
    """The browser and OS families of a User-Agent header ("Other" when unknown)."""
    if not header:
        return UserAgentFamilies(OTHER, OTHER)
    return _families(header[:MAX_HEADER_LENGTH])


def warm_up() -> None:
    """Compile the regexes now (a quarter of a second) rather than in the first request."""
    _families("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
