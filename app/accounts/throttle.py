"""Throttling of password checks: logins and the current-password re-checks.

Policy (README, "Login throttling"): within one window, failed password checks are
limited per (account, client address), per account from every address (a higher
ceiling), and per client address over every account (higher still). So strangers
failing from elsewhere cannot lock the owner out of their own address, and one busy
address (an office NAT) failing on some accounts does not lock out every account
behind it, while a distributed guesser still meets the per-account ceiling.

Each attempt is counted before the password is verified: the increment is atomic
in every backend, so N concurrent guesses get N distinct counts and at most the
limit of them are ever verified. A check that succeeds gives its counts back (and
clears the (account, address) count); so does a request that checked no password.
Keys are keyed hashes: the shared store never holds an email or an address.
"""

from __future__ import annotations

from enum import Enum, auto

from app.core.errors import TooManyRequests
from app.core.ratelimit import RateLimitBackend
from app.core.security import client_address_key, keyed_hash
from app.core.settings import Settings


class _Outcome(Enum):
    unchecked = auto()  # no password verified (yet): the counts are given back
    refused = auto()  # over a limit: answered 429 without verifying, the count stays
    failed = auto()
    succeeded = auto()


class PasswordThrottle:
    """One request's password attempt. `settle()` must run after the request's own
    transaction ends: on SQLite the database backend cannot write while it is open."""

    def __init__(
        self, backend: RateLimitBackend, settings: Settings, *, scope: str, client_ip: str
    ) -> None:
        self._backend = backend
        self._settings = settings
        self._scope = scope
        self._address = client_address_key(settings, client_ip)
        self._counted: list[str] = []
        self._pair_key: str | None = None
        self._retry_after: int | None = None
        self._outcome = _Outcome.unchecked

    async def count_attempt(self, account_ref: str) -> None:
        """Count this attempt against every limit. Call before touching the request's
        session; `check()` then tells whether the password may be verified."""
        account = keyed_hash(self._settings, account_ref, purpose=f"{self._scope}-throttle")
        settings = self._settings
        self._pair_key = f"{self._scope}:acct-ip:{account}:{self._address}"
        limits = [
            (self._pair_key, settings.login_max_failures_per_account_ip),
            (f"{self._scope}:acct:{account}", settings.login_max_failures_per_account),
            (f"{self._scope}:ip:{self._address}", settings.login_max_failures_per_ip),
        ]
        for key, limit in limits:
            window = await self._backend.hit(key, settings.login_failure_window_seconds)
            self._counted.append(key)
            if window.count > limit:
                self._retry_after = max(self._retry_after or 0, window.resets_in)

    def check(self) -> None:
        """Refuse the attempt (429) when a limit is spent, before any password is verified."""
        if self._retry_after is not None:
            self._outcome = _Outcome.refused
            raise TooManyRequests(self._retry_after, "Too many failed password attempts.")

    def record_failure(self) -> None:
        self._outcome = _Outcome.failed

    def record_success(self) -> None:
        self._outcome = _Outcome.succeeded

    async def settle(self) -> None:
        if self._outcome in (_Outcome.failed, _Outcome.refused):
            return
        for key in self._counted:
            if self._outcome is _Outcome.succeeded and key == self._pair_key:
                # The owner proved the password from this address: earlier typos are forgiven.
                await self._backend.reset(key)
            else:
                await self._backend.release(key)
        self._counted.clear()
