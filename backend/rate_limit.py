"""A small per-client sliding-window limit for the endpoints that invite brute force."""

import time
from collections import defaultdict, deque

from fastapi import HTTPException, Request, status

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
