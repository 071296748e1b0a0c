"""Rate limits: a per-client sliding window for the endpoints that invite brute force, and
the per-user WebSocket frame limit."""

import logging
import time
from collections import defaultdict, deque

from fastapi import HTTPException, Request, status
from limits.errors import StorageError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_WINDOW_S = 60.0
_hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)


def limit_by_client(request: Request, bucket: str, per_minute: int) -> None:
    """Raise 429 when this client called ``bucket`` more than ``per_minute`` times in the last minute.

    Per process: with several replicas the effective limit is per replica, which still stops
    a single client hammering one endpoint.
    """
    # Behind nginx, uvicorn's proxy_headers has already put the real address here (it trusts
    # X-Forwarded-For only from the proxy), so a client cannot dodge the limit with a header.
    client = request.client.host if request.client else "unknown"
    now = time.monotonic()
    hits = _hits[(bucket, client)]
    while hits and now - hits[0] > _WINDOW_S:
        hits.popleft()
    if len(hits) >= per_minute:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail={"code": "rate_limited", "message": "Too many attempts; wait a minute and try again."},
            headers={"Retry-After": str(int(_WINDOW_S - (now - hits[0])) + 1)},
        )
    hits.append(now)


class FrameLimiter:
    """WebSocket frames per user: ``burst`` frames in any ``burst / rate`` seconds (a moving window).

    Counted as frames arrive. With Redis (production) the window is shared by every replica,
    so a user's sockets on several replicas share one budget; embedded, it lives in memory.
    If the shared store cannot be reached, frames are let through (and that is logged once):
    the limit guards capacity, it must not take the chat down with it.
    """

    def __init__(self, rate: float, burst: int, redis_url: str | None = None) -> None:
        from limits import RateLimitItemPerSecond
        from limits.aio.strategies import MovingWindowRateLimiter
        from limits.storage import storage_from_string

        window_s = max(1, round(burst / rate)) if rate > 0 else 1
        self.item = RateLimitItemPerSecond(max(1, round(rate * window_s)), window_s)
        options = {"implementation": "redispy", "key_prefix": "attune:ratelimit"} if redis_url else {}
        self.storage = storage_from_string(f"async+{redis_url}" if redis_url else "async+memory://", **options)
        self.strategy = MovingWindowRateLimiter(self.storage)  # type: ignore[arg-type]
        self._store_down = False

    async def allow(self, user_id: int) -> bool:
        try:
            allowed = await self.strategy.hit(self.item, "ws-frames", str(user_id))
        except (RedisError, StorageError, OSError):  # the store is down: let the frame through, not refuse everyone
            if not self._store_down:
                log.warning("the frame rate limit's store is unreachable; frames are not limited until it is back")
            self._store_down = True
            return True
        self._store_down = False
        return allowed
