"""The province's whole list exported through the progress page, in a real browser (issue 18).

``python bench/export_browser.py -n 1000000 [--fmt csv]`` (``DATABASE_URL`` for PostgreSQL, else
SQLite in bench/data/): builds or reuses the benchmark database of N participants (bench/build.py),
serves the app under gunicorn with gunicorn.conf.py and a huey worker on a queue of its own, and in
Debian's Chromium (Playwright) logs in as the province's manager, opens "Ekspor CSV" of the whole
list, presses "Buat berkas ekspor", follows the progress page (htmx polling) until it says done,
downloads the file and counts its rows against the list's count. Prints, and writes to
bench/results/export-<db>-<n>.json: the time to done, the progress seen on the way, the file's size
and rows, and the worker's peak memory. Not part of ``make test`` (the suite runs the same path at
20,000 rows: tests/e2e/test_import_browser.py and the export job tests).
"""
import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import build  # noqa: E402
from load import Server  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree(pid: int) -> list[int]:
    """A process and its descendants (the huey consumer runs its work in threads of one process)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return sum(1 for _ in csv.reader(handle)) - 1  # the header
    with zipfile.ZipFile(path) as book:  # rows of the first sheet, without loading the workbook
        sheet = next(n for n in book.namelist() if n.startswith("xl/worksheets/sheet"))
        with book.open(sheet) as handle:
            return sum(chunk.count(b"<row ") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--participants", type=int, default=1_000_000)
    parser.add_argument("--fmt", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the job")
    args = parser.parse_args(argv)

    url = build.sized_url(os.environ.get("DATABASE_URL"), args.participants)
    dbname = "sqlite" if url.startswith("sqlite") else "postgresql"
    print(f"database: {dbname}, {args.participants:,} participants", flush=True)
    build.build(args.participants, url, log=lambda *a: print(*a, flush=True))
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="okoce-export-"))
    os.environ["TASK_QUEUE_URL"] = f"sqlite:///{work / 'queue.sqlite'}"  # the server's and the worker's own
    server = Server("wsgi:app", url, RESULTS / f"gunicorn-export-{dbname}-{args.participants}.log")
    worker_log = (RESULTS / f"worker-export-{dbname}-{args.participants}.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "huey.bin.huey_consumer", "app.worker.huey", "-w", "1", "-k", "thread"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url, "APP_ENV": "development", "PYTHONPATH": str(ROOT)},
        stdout=worker_log, stderr=subprocess.STDOUT)
    peak = {"worker_mib": 0.0}
    sampling = True

    def sample():
        while sampling:
            peak["worker_mib"] = max(peak["worker_mib"], sum(rss_mib(p) for p in tree(worker.pid)))
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    result = {"database": dbname, "participants": args.participants, "fmt": args.fmt,
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_average_at_start": os.getloadavg()}
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = browser.new_context(base_url=f"http://127.0.0.1:{server.port}", accept_downloads=True,
                                       locale="id-ID").new_page()
            page.goto("/masuk")
            page.get_by_label("Nama pengguna").fill("bench.dinas")
            page.get_by_label("Kata sandi").fill(build.BENCH_PASSWORD)
            page.get_by_label("Kata sandi").press("Enter")
            page.wait_for_url("**/")
            page.goto(f"/peserta/ekspor.{args.fmt}", timeout=300_000)
            total = int(re.sub(r"\D", "", page.locator("#export-total").inner_text()))
            result["list_rows"] = total
            print(f"the list: {total:,} rows; making the file ...", flush=True)
            started = time.monotonic()
            page.get_by_role("button", name="Buat berkas ekspor").click()
            page.wait_for_url("**/pekerjaan/**")
            seen = []
            deadline = started + args.timeout
            while True:
                state = page.locator("#job-progress").get_attribute("data-state")
                percent = page.locator("#job-percent").inner_text() if page.locator("#job-percent").count() else ""
                if not seen or seen[-1][1] != percent:
                    seen.append((round(time.monotonic() - started, 1), percent))
                    print(f"  {seen[-1][0]:>7} s  {state}  {percent}", flush=True)
                if state in ("done", "failed"):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the job did not finish in {args.timeout} s")
                time.sleep(1)
            result["state"] = state
            result["seconds_to_done"] = round(time.monotonic() - started, 1)
            result["progress_seen"] = seen
            if state == "failed":
                result["message"] = page.locator("#job-message").inner_text()
            else:
                with page.expect_download(timeout=600_000) as waiting:
                    page.locator("#job-download").click()
                download = waiting.value
                target = work / download.suggested_filename
                download.save_as(target)
                result["file_mib"] = round(target.stat().st_size / 2 ** 20, 1)
                result["file_rows"] = count_rows(target, args.fmt)
                result["rows_match"] = result["file_rows"] == total
            browser.close()
    finally:
        sampling = False
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        worker_log.close()
        result["worker_peak_rss_mib"] = round(peak["worker_mib"], 1)
        result["web_rss_after_mib"] = server.rss_mib()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    out = RESULTS / f"export-{dbname}-{args.participants}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "progress_seen"}, indent=2, default=str))
    return 0 if result.get("rows_match") else 1


if __name__ == "__main__":
    sys.exit(main())
