"""What a message's photo must be before it is queued: a real JPEG, PNG or WebP within the size limit.

The backend only looks at the first bytes (no image library here); the worker decodes it in
memory. Neither side writes it anywhere: it travels in the job, whose stream entry is deleted
when the job is acked.
"""

from __future__ import annotations

import base64
import binascii

# The first bytes each accepted media type starts with (WebP: "RIFF", a size, then "WEBP").
_SIGNATURES = {
    "image/jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "image/png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
}


def checked_photo(media_type: str, data: str, max_bytes: int) -> tuple[str, str] | None:
    """(error code, message) when the photo cannot be accepted, None when it can."""
    if max_bytes <= 0:
        return "bad_image", "This server does not accept photos."
    # base64 is 4 characters per 3 bytes: refuse what is too big before decoding it
    if len(data) > -(-max_bytes // 3) * 4 + 4:
        return "image_too_large", f"A photo may be at most {_size(max_bytes)}; send a smaller one."
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "bad_image", "The photo is not valid base64."
    if len(raw) > max_bytes:
        return "image_too_large", f"A photo may be at most {_size(max_bytes)}; this one is {_size(len(raw))}."
    if not _SIGNATURES[media_type](raw[:12]):
        return "bad_image", f"The photo is not a {media_type.split('/')[1].upper()} file (JPEG, PNG or WebP only)."
    return None


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} bytes"
