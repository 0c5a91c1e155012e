"""What each package may import (README, "Layout"): checked on the source, so a shortcut shows at once."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from settings import REPO_ROOT

PROJECT = {"bench", "core", "features", "inference", "jobs", "loadgen", "local_stack", "model_helpers",
           "model_repository", "pipeline", "schemas", "search", "settings", "storage", "streams", "telemetry", "tests"}


def imports_of(folder: str, full: bool = False) -> dict[str, set[str]]:
    """Per Python file under ``folder``, the modules it imports: their top-level names, or (``full``) whole."""
    found = {}
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(REPO_ROOT))] = names if full else {name.split(".")[0] for name in names}
    return found


def offenders(folder: str, allowed: set[str]) -> dict[str, set[str]]:
    return {path: bad for path, names in imports_of(folder).items()
            if (bad := names - allowed - set(sys.stdlib_module_names))}


def test_core_is_pure() -> None:
    """numpy, scipy, scikit-learn, hdbscan and two text libraries (Snowball stemmers, transliteration), nothing of
    the project beyond core/, no I/O library."""
    assert offenders("core", {"core", "numpy", "scipy", "sklearn", "hdbscan", "snowballstemmer", "cyrtranslit"}) == {}


def test_storage_depends_on_the_core_only() -> None:
    third_party = {"numpy", "pyarrow", "redis", "redisvl", "clickhouse_connect", "stopwordsiso"}
    assert offenders("storage", {"core", "storage", "settings", *third_party}) == {}


def test_nothing_but_its_entry_point_uses_the_faust_apps() -> None:
    """The stages' Faust apps run as workers (python -m streams.<stage>); nothing else imports them or Faust."""
    users = {path for folder in PROJECT - {"streams", "tests", "settings"} if (REPO_ROOT / folder).is_dir()
             for path, names in imports_of(folder, full=True).items()
             if "faust" in names or any(name.startswith("streams.") and name != "streams.fetch_backoff"
                                        for name in names)}
    assert users == set()


def test_the_pipeline_runs_without_faust() -> None:
    assert all("faust" not in names for names in imports_of("pipeline").values())


@pytest.mark.parametrize("folder", ["model_repository", "model_helpers"])
def test_triton_models_are_self_contained(folder: str) -> None:
    """The Triton image copies model_repository/ and model_helpers/ alone: no model imports the worker's code or
    settings."""
    used = {path: names & PROJECT for path, names in imports_of(folder).items() if names & PROJECT}
    assert used == {}


def test_the_model_repository_holds_model_folders_only() -> None:
    """Triton takes every folder at the repository's top for a model (a __pycache__ left by importing a helper kept
    there was listed as one): only folders with a config.pbtxt, nothing else, are checked in there."""
    tracked = {path.split("/")[1] for path in subprocess.run(
        ["git", "ls-files", "model_repository"], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()}
    assert tracked and all((REPO_ROOT / "model_repository" / name / "config.pbtxt").is_file() for name in tracked)


def test_the_search_api_needs_no_media_decoder() -> None:
    assert {path: names for path, names in imports_of("search").items() if names & {"av", "features", "cv2"}} == {}


def test_every_package_says_what_it_holds() -> None:
    for folder in ("core", "features", "inference", "storage", "pipeline", "streams", "jobs", "telemetry"):
        init = Path(REPO_ROOT / folder / "__init__.py")
        assert ast.get_docstring(ast.parse(init.read_text())), f"{folder}/__init__.py has no docstring"


def test_telemetry_is_a_leaf() -> None:
    """Every layer may report metrics and log lines, so telemetry/ imports nothing of the project."""
    assert {path: names & PROJECT for path, names in imports_of("telemetry").items() if names & PROJECT} == {}
