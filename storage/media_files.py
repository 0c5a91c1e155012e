"""Where published media lives: a media URI resolved safely to a file inside MEDIA_ROOT.

Used by the worker before decoding and by the search API before serving a file; it needs no media library.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from core.errors import MediaError

# NUL and the other C0/C1 control characters: no file name needs them, and NUL makes the filesystem calls raise.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def resolve_media_path(uri: str, media_root: Path) -> Path:
    """Map ``file:///abs`` or a relative path to a file inside ``media_root``; refuse anything else."""
    if CONTROL_CHARACTERS.search(uri) or CONTROL_CHARACTERS.search(unquote(uri)):
        raise MediaError(f"control characters in media URI {uri!r}", kind="media_forbidden")
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise MediaError(f"file URI with a host is not allowed: {uri!r}", kind="media_forbidden")
        candidate = Path(unquote(parsed.path))
    elif parsed.scheme == "":
        candidate = media_root / uri
    else:
        raise MediaError(f"unsupported media URI scheme {parsed.scheme!r} in {uri!r}", kind="media_forbidden")
    try:
        resolved = candidate.resolve()
        if not resolved.is_relative_to(media_root):
            raise MediaError(f"media URI {uri!r} points outside MEDIA_ROOT", kind="media_forbidden")
        if not resolved.is_file():
            raise MediaError(f"media file not found: {uri!r}", kind="media_not_found")
    except OSError as exc:  # a name too long for the filesystem, a folder we may not read, ...
        raise MediaError(f"media file not found: {uri!r} ({exc.strerror})", kind="media_not_found") from exc
    return resolved
