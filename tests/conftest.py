"""Shared by every test: the test environment, set before anything reads the settings.

Tests use their own ports and a temporary STACK_DIR, so they never touch a stack the user runs;
TEST_PORT_OFFSET shifts every port, so two suites can run side by side. tests/unit/ needs no server;
tests/stack/ starts the real local servers once per session (tests/stack/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_PORT_OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))  # e.g. 1000 for a second suite run beside this one
TEST_ENV = {
    "KAFKA_PORT": str(29092 + _PORT_OFFSET),
    "REDIS_PORT": str(26379 + _PORT_OFFSET),
    "TRITON_HTTP_PORT": str(28000 + _PORT_OFFSET),
    "SEARCH_PORT": str(28080 + _PORT_OFFSET),
    "METRICS_PORT": str(29100 + _PORT_OFFSET),  # the first of the local processes' metrics ports
    "TOPIC_PARTITIONS": "3",
    "FAUST_APP_ID": "video-understanding-test",
    "OUTAGE_RETRY_MAX_S": "5",  # the fault tests bring services back within seconds
}
for name in ("KAFKA_BOOTSTRAP", "REDIS_URL", "REDIS_PASSWORD", "TRITON_GRPC_URL", "TRITON_HTTP_URL",
             "TRITON_GRPC_PORT", "TRITON_METRICS_PORT", "CLICKHOUSE_DSN", "MEDIA_ROOT", "FAUST_DATA_DIR", "STACK_DIR"):
    # derive everything from the test ports and the test STACK_DIR, the secrets too, as a default stack does (Redis's
    # password is made on first use in STACK_DIR/secrets/, and every test, worker and job reads it from there)
    os.environ.pop(name, None)
os.environ.update(TEST_ENV)
STACK_DIR = Path(tempfile.mkdtemp(prefix="vu-test-stack-"))
os.environ["STACK_DIR"] = str(STACK_DIR)

from settings import Settings  # noqa: E402


@pytest.fixture(scope="session")
def cfg() -> Settings:
    return Settings.from_env()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not os.environ.get("KEEP_TEST_STACK"):  # set it to read the servers' logs after a failure
        shutil.rmtree(STACK_DIR, ignore_errors=True)
