"""`make run`: the web server (flask run) and the worker (the huey consumer), started together.

Ctrl-C reaches both (they share the terminal's process group) and this script waits until both have
stopped; SIGTERM is passed on to both. When either stops on its own, the other is stopped too, so
the desk never runs without its worker (or the worker without the desk) unnoticed.

Options: ``--host`` and ``--port`` of the web server (default 127.0.0.1:5000), ``--worker-log``
(default instance/worker.log).
"""
import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(host: str, port: int, worker_log: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [python, "-m", "flask", "--app", "wsgi", "run", "--host", host, "--port", str(port)],
        # One job at a time: on SQLite two imports would wait for each other's write lock.
        "worker": [python, "-m", "huey.bin.huey_consumer", "app.worker.huey", "--workers", "1",
                   "--worker-type", "thread", "--logfile", worker_log],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--worker-log", default=str(ROOT / "instance" / "worker.log"))
    args = parser.parse_args(argv)
    children = {name: subprocess.Popen(cmd, cwd=ROOT)
                for name, cmd in commands(args.host, args.port, args.worker_log).items()}
    print(f"Web: http://{args.host}:{args.port}  ·  worker log: {args.worker_log}  ·  Ctrl-C stops both",
          flush=True)

    def stop(signum=signal.SIGTERM, _frame=None):
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.2)
        ended = next(name for name, child in children.items() if child.poll() is not None)
        code = children[ended].returncode or 0
        print(f"{ended} stopped (exit {code}); stopping the other.", file=sys.stderr, flush=True)
        stop()
    except KeyboardInterrupt:  # Ctrl-C: the children got SIGINT too and are stopping
        pass
    for name, child in children.items():
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return code


if __name__ == "__main__":
    sys.exit(main())
