"""Gunicorn settings: ``gunicorn -c gunicorn.conf.py wsgi:app`` (behind nginx with TLS; see README, Deploy).

Environment: ``GUNICORN_BIND`` (default 127.0.0.1:8000, loopback: only the proxy reaches it),
``GUNICORN_WORKERS`` (default 2 × cores + 1, at most 9), ``GUNICORN_TIMEOUT`` (default 60 s:
the weekly report PDF and large exports take a few seconds, a stuck request is ended).
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 9)))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30  # on restart, requests under way get this long to finish
keepalive = 5
# Recycle workers now and then (WeasyPrint and openpyxl hold memory; a worker's RSS stays at
# 120–170 MiB over a day's mix, ~250 MiB after a batch of 500 certificate pages). Each worker draws
# its limit anywhere in 20,000–30,000 requests, so the workers restart minutes apart at the busy
# hour's 120 requests/s. (With 5,000–7,500 all five restarted within 21 s of a benchmark's busy
# hour, each missing from the pool while it booted: every operation's p95 was 0.7–1.7 s; the same
# run without restarts, 0.04–0.25 s. bench/RESULTS.md)
max_requests = 20000
max_requests_jitter = 10000
accesslog = "-"
errorlog = "-"
loglevel = "info"
preload_app = False  # each worker opens its own database connections
