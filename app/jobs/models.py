"""A job run by the worker, and the file it produced (kept in the database, in parts, for a day)."""
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, and_, false
from sqlalchemy.orm import Mapped, mapped_column

from ..core.scoping import KECAMATAN, KOTA, PROVINCE, Scope
from ..core.timeutil import utcnow
from ..extensions import db

STATES = {"queued": "Menunggu giliran", "running": "Sedang dikerjakan", "done": "Selesai", "failed": "Gagal"}


class Job(db.Model):
    """One piece of long work. Its ``state`` is the single fact that says whether the work was applied:
    a handler writes its effects and ``state='done'`` in one transaction, after locking this row, so a
    retry (a worker restarted, the task delivered twice) finds ``done`` and applies nothing again.

    The region it covers (``scope_level``, ``kota_id``, ``kecamatan_id``) and ``role`` are the owner's
    when it was made: a user may see it, and download its file, only if their own scope covers that
    region and their role is the same (so masking of personal data is the same)."""

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("state in ('queued', 'running', 'done', 'failed')", name="state"),
        CheckConstraint("scope_level in ('province', 'kota', 'kecamatan')", name="scope_level"),
        Index("ix_job_state_updated", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    scope_level: Mapped[str] = mapped_column(String(12))
    kota_id: Mapped[int | None] = mapped_column(ForeignKey("kota.id"))
    kecamatan_id: Mapped[int | None] = mapped_column(ForeignKey("kecamatan.id"))
    # What the job acts on, when it must be acted on once whoever asks (an import's upload).
    once_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), default="queued")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    unit: Mapped[str] = mapped_column(String(20), default="baris")
    attempts: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)  # why it failed, in Indonesian
    result: Mapped[dict | None] = mapped_column(JSON)  # a summary for the page (an import's counts)
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_mime: Mapped[str | None] = mapped_column(String(100))
    file_size: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def state_label(self) -> str:
        return STATES[self.state]

    @classmethod
    def scope_clause(cls, scope: Scope):
        """Jobs of the viewer's role whose region lies within the viewer's scope; a facilitator's or a
        pendamping's only their own (their reach is their courses or participants, not a region)."""
        role = cls.role == scope.role
        if scope.role in ("facilitator", "pendamping"):
            role = and_(role, cls.user_id == scope.user_id)
        if scope.level == PROVINCE:
            return role
        if scope.level == KOTA:
            return and_(role, cls.scope_level.in_((KOTA, KECAMATAN)), cls.kota_id == scope.kota_id)
        if scope.level == KECAMATAN and scope.kecamatan_id:
            return and_(role, cls.scope_level == KECAMATAN, cls.kecamatan_id == scope.kecamatan_id)
        return false()


class JobFilePart(db.Model):
    """A job's file in parts of at most a few megabytes: written and served one part at a time, so
    neither the worker nor a web worker holds a province's export in memory."""

    __tablename__ = "job_file_part"

    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    part: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportUpload(db.Model):
    """An uploaded import file's rows between upload, preview and import: in the database, so any
    app server (and the worker) reads it. Deleted by the import that uses it, or after a day."""

    __tablename__ = "import_upload"

    token: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    filename: Mapped[str] = mapped_column(String(120))
    content: Mapped[str] = mapped_column(Text)  # JSON: {"headers": [...], "rows": [[...], ...]}
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
