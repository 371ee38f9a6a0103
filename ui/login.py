"""The studio's password check, with a limit on wrong passwords per user name so they cannot be guessed."""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

WINDOW_SECONDS = 60.0
MAX_TRACKED_NAMES = 10_000
Credentials = tuple[str, str]


class LoginLimiter:
    """`auth=` for Gradio: checks a user name and password, refusing a name after too many wrong passwords.

    Wrong passwords are counted per user name in a sliding minute. Once `attempts_per_minute` of them fall in the
    last minute, every login for that name is refused without looking at the password, so even the right one
    fails until the oldest wrong one is a minute old. Unknown names are counted too, so guessing names costs the
    same. The count lives in memory: a restart forgets it.
    """

    def __init__(
        self,
        credentials: Credentials | Iterable[Credentials],
        attempts_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        pairs = [credentials] if _is_pair(credentials) else credentials
        self._passwords = {user: password.encode() for user, password in pairs}  # type: ignore[union-attr]
        if not self._passwords:
            raise ValueError("a studio login needs at least one USER:PASSWORD.")
        if attempts_per_minute < 1:
            raise ValueError("attempts_per_minute must be at least 1.")
        self.attempts_per_minute = attempts_per_minute
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def __call__(self, username: str, password: str) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._failures) > MAX_TRACKED_NAMES:
                self._forget_stale(now)
            failures = self._failures.setdefault(username, deque())
            while failures and now - failures[0] >= WINDOW_SECONDS:
                failures.popleft()
            if len(failures) >= self.attempts_per_minute:
                return False
            if self._matches(username, password):
                del self._failures[username]
                return True
            failures.append(now)
            return False

    def refused(self, username: str) -> bool:
        """Whether `username` is locked out right now."""
        now = self._clock()
        with self._lock:
            return sum(now - at < WINDOW_SECONDS for at in self._failures.get(username, ())) >= self.attempts_per_minute

    def _forget_stale(self, now: float) -> None:
        """Drop names with no wrong password in the last minute, so made-up names cannot fill the memory."""
        self._failures = {
            name: failures
            for name, failures in self._failures.items()
            if failures and now - failures[-1] < WINDOW_SECONDS
        }

    def _matches(self, username: str, password: str) -> bool:
        expected = self._passwords.get(username)
        given = password.encode()
        if expected is None:
            hmac.compare_digest(given, given)
            return False
        return hmac.compare_digest(given, expected)


def _is_pair(credentials: object) -> bool:
    return (
        isinstance(credentials, tuple) and len(credentials) == 2 and all(isinstance(part, str) for part in credentials)
    )
