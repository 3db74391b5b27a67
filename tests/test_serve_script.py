"""`make run` is one command: scripts/serve.py starts the web server and the worker, and Ctrl-C (SIGINT
to the terminal's process group) stops both."""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.harness import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_serve_starts_web_and_worker_and_ctrl_c_stops_both(tmp_path):
    from huey.constants import EmptyData
    from huey.storage import SqliteStorage

    port = free_port()
    queue_path = tmp_path / "queue.sqlite"
    env = {**os.environ, "APP_ENV": "testing", "SECRET_KEY": "uji", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
           "TASK_QUEUE_URL": f"sqlite:///{queue_path}"}
    process = subprocess.Popen([sys.executable, "scripts/serve.py", "--port", str(port),
                                "--worker-log", str(tmp_path / "worker.log")],
                               cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        web = beat = False
        while not (web and beat):
            assert process.poll() is None and time.monotonic() < deadline
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    web = web or answer.status in (200, 503)  # the server answers (the db need not be migrated)
            except urllib.error.HTTPError as err:
                web = web or err.code == 503
            except OSError:
                pass
            if queue_path.exists():  # the worker has said it is alive
                beat = SqliteStorage("okoce", filename=str(queue_path)).peek_data("worker:heartbeat") is not EmptyData
            time.sleep(0.2)
        assert queue_path.stat().st_mode & 0o777 == 0o600  # the queue's file is the owner's only
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert process.wait(timeout=60) == 0
        deadline = time.monotonic() + 30
        while True:  # no process of the group is left: web and worker have both stopped
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "a child of serve.py outlived Ctrl-C"
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
