"""The media containers this service opens, told from a file's first bytes, and the formats it refuses by name.

Only single-file media is opened. FFmpeg, left to guess a file's format, picks among all its demuxers, and some of
them open other files or URLs named inside the file: HLS and DASH playlists, concat scripts, image sequences, SDP
and RTSP descriptions. A playlist under MEDIA_ROOT could so make the worker read (and index, and offer for search)
any file on the server. So the format is never FFmpeg's guess: it is chosen here from the file's first bytes, from
an allow-list of demuxers that read the one file they are given, and FFmpeg is told to use exactly that demuxer
(``features/media.open_media``). Anything else is refused before FFmpeg sees it.

The same table says which MIME type the search API serves a file as (``storage/media_files.media_type``).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import MediaError

# How many first bytes tell a container (an MPEG-TS file needs two packets of 188 bytes).
SNIFF_BYTES = 512
TS_PACKET = 188
ASF_HEADER_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


@dataclass(frozen=True)
class Container:
    """A container this service opens: its name for people, FFmpeg's demuxer that reads it, and its MIME type
    (None for still pictures: the search API sends those as a download, never as a video)."""

    name: str
    demuxer: str
    mime: str | None


MP4 = Container("MP4", "mov", "video/mp4")
QUICKTIME = Container("QuickTime MOV", "mov", "video/quicktime")
MATROSKA = Container("Matroska", "matroska", "video/x-matroska")
WEBM = Container("WebM", "matroska", "video/webm")
MPEG_TS = Container("MPEG-TS", "mpegts", "video/mp2t")
MPEG_PS = Container("MPEG program stream", "mpeg", "video/mpeg")
MPEG_VIDEO = Container("MPEG-1/2 video stream", "mpegvideo", "video/mpeg")
OGG = Container("Ogg", "ogg", "video/ogg")
AVI = Container("AVI", "avi", "video/x-msvideo")
FLV = Container("FLV", "flv", "video/x-flv")
ASF = Container("ASF/WMV", "asf", "video/x-ms-asf")
REALMEDIA = Container("RealMedia", "rm", "application/vnd.rn-realmedia")
GIF = Container("GIF", "gif", None)
PNG = Container("PNG picture", "png_pipe", None)
JPEG = Container("JPEG picture", "jpeg_pipe", None)

# Every container opened, in the README's words (listed in dead letters that refuse a file).
READ_CONTAINERS = ", ".join(dict.fromkeys(container.name for container in (
    MP4, QUICKTIME, MATROSKA, WEBM, MPEG_TS, MPEG_PS, MPEG_VIDEO, OGG, AVI, FLV, ASF, REALMEDIA, GIF, PNG, JPEG)))


def container_of(head: bytes) -> Container | None:
    """The container whose signature ``head`` (a file's first SNIFF_BYTES) starts with; None for anything else."""
    if head[4:8] == b"ftyp":  # ISO base media: MP4, M4V, 3GP, F4V; "qt  " brand: QuickTime
        return QUICKTIME if head[8:12] == b"qt  " else MP4
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):  # QuickTime files without an ftyp box
        return QUICKTIME
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM is Matroska with the "webm" doctype
        return WEBM if b"webm" in head[:64] else MATROSKA
    if len(head) > TS_PACKET and head[0] == head[TS_PACKET] == 0x47:  # a sync byte every 188 bytes
        return MPEG_TS
    if head.startswith(b"\x00\x00\x01\xba"):
        return MPEG_PS
    if head.startswith(b"\x00\x00\x01\xb3"):  # a sequence header: an elementary MPEG-1/2 video stream
        return MPEG_VIDEO
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return AVI
    if head.startswith(b"FLV\x01"):
        return FLV
    if head.startswith(ASF_HEADER_GUID):
        return ASF
    if head.startswith(b".RMF"):
        return REALMEDIA
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


# Formats refused by name: text that makes FFmpeg open other files or URLs (matched on the head with leading
# white space and a UTF-8 byte-order mark removed, case-insensitively).
_REFERENCING_FORMATS = (
    (b"#extm3u", "an HLS or M3U playlist (hls)"),
    (b"ffconcat", "an FFmpeg concat script (concat)"),
    (b"<?xml", "an XML document (DASH manifests and SMIL playlists name other files)"),
    (b"<mpd", "a DASH manifest (dash)"),
    (b"[playlist]", "a PLS playlist"),
    (b"v=0", "an SDP session description (sdp)"),
    (b"file ", "a concat list (concat)"),
    (b"#ext", "a playlist"),
    (b"rtsp:", "an RTSP address"),
)


def opened_container(head: bytes, name: str) -> Container:
    """The container to open a file as, from its first bytes; raises MediaError: ``media_forbidden`` naming the
    format for a file that refers to others (a playlist, a concat script, ...), ``media_unreadable`` for anything
    else that is no container this service opens. ``name`` is the file as the publisher named it."""
    container = container_of(head)
    if container is not None:
        return container
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    for start, format_name in _REFERENCING_FORMATS:
        if text.startswith(start):
            raise MediaError(f"{name!r} is {format_name}: only single-file media is opened ({READ_CONTAINERS})",
                             kind="media_forbidden")
    raise MediaError(f"{name!r} is none of the containers this service opens ({READ_CONTAINERS})",
                     kind="media_unreadable")
