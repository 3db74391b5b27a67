"""The worker's entry point: ``huey_consumer app.worker.huey`` (see scripts/serve.py and deploy/).

Creating the app configures the queue (TASK_QUEUE_URL) and registers every task, so the consumer
runs them in this app, against the same database as the web servers."""
from . import create_app
from .jobs.queue import huey  # noqa: F401  (the consumer's target)

app = create_app()
