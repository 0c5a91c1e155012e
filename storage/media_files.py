"""Where published media lives: a media URI resolved safely to a file inside MEDIA_ROOT, what the file is, and
its digest.

Used by the worker before decoding and by the search API before serving a file; it needs no media library:
``media_type`` tells a video container from its first bytes (core/containers.py), never from the file's name, so a
file is only ever served as the video it is.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote, urlparse

from core.containers import SNIFF_BYTES, container_of
from core.errors import MediaError
from core.event_checks import CONTROL_CHARACTERS


def resolve_media_path(uri: str, media_root: Path) -> Path:
    """Map ``file:///abs`` or a relative path to a file inside ``media_root``; refuse anything else."""
    if CONTROL_CHARACTERS.search(uri) or CONTROL_CHARACTERS.search(unquote(uri)):  # NUL makes the file calls raise
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


def media_digest(path: Path) -> str:
    """The SHA-256 of the file's bytes, in hex: what a video id is bound to (README, "One video id, one media")."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def media_type(path: Path) -> str | None:
    """The video MIME type of the file's container, told from its first bytes whatever its name; None for anything
    else (the search API sends that as a download, never as what its name says)."""
    with open(path, "rb") as file:
        container = container_of(file.read(SNIFF_BYTES))
    return container.mime if container else None
