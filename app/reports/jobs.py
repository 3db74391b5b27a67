"""The weekly report's periodic job on the task queue: Monday morning WIB, a week nobody submitted
is frozen as a draft (see :func:`app.reports.submissions.freeze_overdue`)."""
from huey import crontab

from ..jobs.queue import flask_app, huey


@huey.periodic_task(crontab(minute="*/15"))
def freeze_unsubmitted_weeks() -> None:
    """Every quarter hour; does nothing before Monday 06:00 WIB or once every kecamatan has its version."""
    from .submissions import freeze_overdue

    with flask_app().app_context():
        freeze_overdue()
