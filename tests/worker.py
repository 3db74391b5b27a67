"""A real worker for the tests: the huey consumer (``app.worker.huey``) in a subprocess, against the
test database and a queue of its own (SQLite in a temporary folder, or the tests' Redis database
12), and helpers that follow a job's progress page as the browser's htmx does.

The test process points its app at the same queue while the worker runs, and back to the in-memory
queue afterwards."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUEUE_REDIS_URL = os.environ.get("TEST_QUEUE_REDIS_URL", "redis://127.0.0.1:6379/12")
STATE_RE = re.compile(r'id="job-progress" data-state="(\w+)"')


class Worker:
    def __init__(self, app, database_url: str, queue_url: str, log_path: Path):
        self.app, self.database_url, self.queue_url, self.log_path = app, database_url, queue_url, log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        from app.jobs import queue

        env = {**os.environ, "APP_ENV": "testing", "DATABASE_URL": self.database_url, "SECRET_KEY": "test-secret",
               "TASK_QUEUE_URL": self.queue_url, "PYTHONPATH": str(ROOT)}
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "huey.bin.huey_consumer", "app.worker.huey", "-w", "2", "-k", "thread",
             "-d", "0.1", "-m", "0.5"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        started = time.time()
        while True:  # ready when it has said it is alive
            beat = queue.last_beat()
            if beat is not None and beat >= started - 1:
                return self
            assert self.process.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "the worker did not start: " + self.log_path.read_text()
            time.sleep(0.1)

    def kill(self) -> None:
        """Stop at once (SIGKILL: a crash or an OOM kill, no chance to finish or to clean up)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()


def use_queue(app, url: str) -> None:
    from app.jobs.queue import configure_queue

    app.config["TASK_QUEUE_URL"] = url
    configure_queue(app)


@pytest.fixture
def queue_file(app, tmp_path):
    """The test app's queue in a temporary SQLite file (no worker yet); back to memory afterwards."""
    url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    use_queue(app, url)
    yield url
    use_queue(app, "memory://")


@pytest.fixture
def start_worker(app, database_url, queue_file, tmp_path):
    """start_worker() -> a running Worker on the test database and the temporary queue."""
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(app, database_url, queue_file, tmp_path / f"worker{len(workers)}.log").start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def worker(start_worker):
    return start_worker()


def job_state(client, url: str) -> tuple[str, str]:
    """The job page's fragment as htmx asks for it each second: (state, html)."""
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    match = STATE_RE.search(html)
    assert match, html
    return match.group(1), html


def wait_for_job(client, url: str, until=("done", "failed"), timeout: float = 600) -> str:
    """Poll the progress fragment until the job is in one of ``until``; its last html."""
    deadline = time.monotonic() + timeout
    while True:
        state, html = job_state(client, url)
        if state in until:
            return html
        assert time.monotonic() < deadline, f"job still {state} at {url}"
        time.sleep(0.2)
