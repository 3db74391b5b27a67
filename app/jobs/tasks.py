"""The queue's tasks: run a job by its id; housekeeping every minute; the planner's statistics every hour."""
from huey import crontab

from .queue import flask_app, huey
from .services import MAX_ATTEMPTS, delete_expired, recover_stalled, run_job


@huey.task(retries=MAX_ATTEMPTS - 1, retry_delay=5)
def run_job_task(job_id: int) -> None:
    with flask_app().app_context():
        run_job(job_id)


@huey.periodic_task(crontab(minute="*"))
def housekeeping() -> None:
    """Jobs a killed worker left behind are queued again; expired job files and uploads are deleted."""
    with flask_app().app_context():
        recover_stalled()
        delete_expired()


@huey.periodic_task(crontab(minute="7"))
def planner_statistics() -> None:
    """SQLite's query planner statistics, gathered again every hour as the data grows (core.db)."""
    from ..core.db import refresh_planner_statistics

    with flask_app().app_context():
        refresh_planner_statistics()
