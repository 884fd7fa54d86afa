"""CSRF tokens and rate limits.

CSRF: a logged-in form carries ``HMAC(secret, session token)``; anonymous forms (login, invitation)
use a double-submit cookie.  Every state-changing request (POST) is checked, for forms and for HTMX
requests (header ``X-CSRF-Token``).

Rate limits: a sliding window per key (account or client address) and per action class, in memory
(one process; the limits are a brake on abuse, the durable anti-abuse rules of the arena are checked
against the store).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from dataclasses import dataclass


def csrf_token(secret: bytes, session_token: str) -> str:
    return hmac.new(secret, b"csrf:" + session_token.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, session_token: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(secret, session_token), given or "")


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``window_s`` seconds."""

    count: int
    window_s: float


@dataclass(frozen=True)
class RateLimits:
    login: Limit = Limit(10, 60.0)  # per client address: login and invitation attempts
    write: Limit = Limit(120, 60.0)  # per account: any other POST
    model: Limit = Limit(30, 60.0)  # per account: prompts sent to models (chat turns, battles)


class RateLimiter:
    """Sliding-window counters; thread-safe.  ``hit`` returns seconds to wait (0: allowed)."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, key: str, limit: Limit, at: float | None = None) -> float:
        t = time.monotonic() if at is None else at
        with self._lock:
            q = self._events.setdefault((bucket, key), deque())
            while q and q[0] <= t - limit.window_s:
                q.popleft()
            if len(q) >= limit.count:
                return max(0.0, q[0] + limit.window_s - t)
            q.append(t)
            return 0.0
