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
max_requests = 2000  # recycle workers now and then (WeasyPrint and openpyxl hold memory)
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
loglevel = "info"
preload_app = False  # each worker opens its own database connections
