"""The task queue: huey, with SQLite storage in ``instance/`` by default and Redis in production.

``TASK_QUEUE_URL`` names the storage: ``sqlite:///path/to/queue.sqlite`` (default
``instance/queue.sqlite``, for `make run` and a single machine) or ``redis://host:port/db`` (a
province: several app servers and the worker share it). The queue carries only job ids; what a job
is, how far it got and what it produced are in the app's database (:mod:`app.jobs.models`).

The queue's key-value store also holds two things that change every second and must never wait
for the app database's write lock (an import holds it for its whole transaction on SQLite): each
running job's progress, and the worker's heartbeat.
"""
import threading
import time
from pathlib import Path

from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

NAME = "okoce"
HEARTBEAT_KEY = "worker:heartbeat"
HEARTBEAT_EVERY = 5  # seconds

# Built with a placeholder store; configure_queue gives it the configured one (before any task runs).
huey = Huey(NAME, results=False, storage_class=MemoryStorage)
_state: dict = {"app": None, "url": None}


def default_url(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'queue.sqlite'}"


def storage_for(url: str):
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage(NAME, url=url)
    if url.startswith("sqlite:///"):
        from ..config import private_sqlite_file

        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        private_sqlite_file(url)  # the owner's only, like the app's database (it names job ids only, still)
        return SqliteStorage(NAME, filename=str(path))
    if url == "memory://":
        return MemoryStorage(NAME)
    raise RuntimeError(f"TASK_QUEUE_URL must be sqlite:///… or redis://…, not {url!r}")


def configure_queue(app) -> None:
    """Point the queue at the app's TASK_QUEUE_URL, and remember the app the tasks run in."""
    url = app.config.get("TASK_QUEUE_URL") or default_url(app.instance_path)
    if url != _state["url"]:
        huey.storage = storage_for(url)
        _state["url"] = url
    _state["app"] = app


def flask_app():
    """The app the worker's tasks run in (the one configured last)."""
    if _state["app"] is None:
        raise RuntimeError("the task queue is not configured: create the app first")
    return _state["app"]


# --- Progress and heartbeat (the queue's key-value store) -------------------------------------

def put_progress(job_id: int, done: int, total: int) -> None:
    huey.put(f"job:{job_id}:progress", (done, total, time.time()))


def get_progress(job_id: int) -> tuple[int, int, float] | None:
    try:
        return huey.get(f"job:{job_id}:progress", peek=True)
    except Exception:  # the store unreachable: the page says the queue is not running
        return None


def drop_progress(job_id: int) -> None:
    try:
        huey.delete(f"job:{job_id}:progress")
    except Exception:
        pass


def beat() -> None:
    huey.put(HEARTBEAT_KEY, time.time())


def last_beat() -> float | None:
    """When a worker last said it is alive (seconds since the epoch), or None."""
    try:
        return huey.get(HEARTBEAT_KEY, peek=True)
    except Exception:
        return None


_beating = threading.Lock()
_started = {"heartbeat": False}


@huey.on_startup()
def _start_heartbeat() -> None:
    """Every worker process says it is alive every few seconds, from a thread of its own (a long
    task keeps its worker busy, not the heartbeat)."""
    with _beating:
        if _started["heartbeat"]:
            return
        _started["heartbeat"] = True

    def loop():
        while True:
            try:
                beat()
            except Exception:  # the store away for a moment: try again at the next beat
                pass
            time.sleep(HEARTBEAT_EVERY)

    threading.Thread(target=loop, name="heartbeat", daemon=True).start()
