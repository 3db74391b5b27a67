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
# Recycle workers now and then (WeasyPrint and openpyxl hold memory). Each worker draws its limit
# anywhere in 5,000–7,500 requests, so the workers restart far apart rather than all within seconds
# (a restarting worker is missing from the pool for the time it takes to boot).
max_requests = 5000
max_requests_jitter = 2500
accesslog = "-"
errorlog = "-"
loglevel = "info"
preload_app = False  # each worker opens its own database connections
