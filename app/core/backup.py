"""``flask backup`` and ``flask restore``: consistent copies of the SQLite database.

A backup is taken with SQLite's online backup API in a single step, that is inside one read
transaction: the copy is a snapshot of committed data even while the app keeps writing (in
WAL mode writers are not blocked meanwhile). The copy is written next to its final name,
checked with ``PRAGMA integrity_check``, turned into a single self-contained file (journal
mode DELETE, mode 0600: it holds personal data) and only then given its name.

A restore refuses any file that is not a sound SQLite database of this app (integrity check,
an ``alembic_version`` row naming a revision of ``migrations/``) before touching anything;
then it backs up the current database and copies the file into the live database with the
same API, through SQLite's locks, so a running app sees the old or the new data, never a mix.

PostgreSQL has its own tools (``pg_dump -Fc`` and ``pg_restore``); both commands refuse it.
"""
import os
import sqlite3
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from .timeutil import WIB

SQLITE_HEADER = b"SQLite format 3\x00"
POSTGRES_HINT = ("for PostgreSQL use its own tools: pg_dump -Fc -f okoce.dump okoce to back up, "
                 "pg_restore --clean --if-exists -d okoce okoce.dump to restore (see README, Deploy).")


class BackupError(Exception):
    """A refusal with a message for the operator; nothing was changed."""


def sqlite_path(url) -> Path:
    """The database file behind a SQLAlchemy URL; BackupError for anything but a SQLite file."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(f"The database is {url.get_backend_name()}, not SQLite: {POSTGRES_HINT}")
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("The database is not a SQLite file; there is nothing to copy.")
    return Path(url.database).resolve()


def known_revisions(migrations_dir: Path) -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory(str(migrations_dir)).walk_revisions()}


def head_revisions(migrations_dir: Path) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory(str(migrations_dir)).get_heads())


def default_name(folder: Path, label: str = "") -> Path:
    """``okoce-[label-]YYYYMMDD-HHMMSS.sqlite`` (Jakarta time), never an existing file's name."""
    stamp = datetime.now(WIB).strftime("%Y%m%d-%H%M%S")
    stem = f"okoce-{label + '-' if label else ''}{stamp}"
    candidate, n = folder / f"{stem}.sqlite", 1
    while candidate.exists():
        candidate, n = folder / f"{stem}-{n}.sqlite", n + 1
    return candidate


def _read_only(path: Path) -> sqlite3.Connection:
    """Open a file for checking without ever writing to it (no journal recovery, no checkpoint)."""
    return sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)


def _integrity(conn: sqlite3.Connection) -> None:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
    if rows != ["ok"]:
        raise BackupError("The file failed SQLite's integrity check: " + "; ".join(rows)[:300])


def backup_database(source: Path, dest: Path) -> Path:
    """Copy the live database ``source`` to ``dest`` (a new file) consistently; returns ``dest``."""
    if not source.is_file():
        raise BackupError(f"There is no database file at {source}.")
    if dest.exists():
        raise BackupError(f"{dest} already exists; choose another name.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        out = sqlite3.connect(part)
        try:
            src.backup(out)  # pages=-1: every page in one step, i.e. one read transaction
            out.execute("PRAGMA journal_mode=DELETE")
            _integrity(out)
        finally:
            out.close()
        part.chmod(0o600)
        os.replace(part, dest)
    except sqlite3.Error as err:
        raise BackupError(f"The backup failed: {err}") from err
    finally:
        src.close()
        part.unlink(missing_ok=True)
    return dest


def check_backup(path: Path, migrations_dir: Path) -> str:
    """The alembic revision of a restorable file; BackupError saying why a file is refused."""
    if not path.is_file():
        raise BackupError(f"There is no file at {path}.")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{path} is not a SQLite database.")
    try:
        conn = _read_only(path)
        try:
            _integrity(conn)
            try:
                versions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
            except sqlite3.OperationalError:
                raise BackupError(f"{path} has no alembic_version table: it is not a database of this app.") from None
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{path} cannot be read as a SQLite database: {err}") from err
    if len(versions) != 1:
        raise BackupError(f"{path} has {len(versions)} alembic_version rows; expected one.")
    if versions[0] not in known_revisions(migrations_dir):
        raise BackupError(f"{path} is at revision {versions[0]!r}, which is not a migration of this app.")
    return versions[0]


def restore_database(candidate: Path, live: Path, backups_dir: Path, migrations_dir: Path) -> tuple[str, Path | None]:
    """Check ``candidate``, back up ``live``, then copy ``candidate`` into ``live``.

Returns the restored revision and the backup of the replaced database (None when there was no
database yet). Nothing is changed when the candidate is refused.
"""
    candidate = candidate.resolve()
    if candidate == live:
        raise BackupError("That file is the live database itself.")
    revision = check_backup(candidate, migrations_dir)
    previous = backup_database(live, default_name(backups_dir, "before-restore")) if live.exists() else None
    src = _read_only(candidate)
    try:
        dst = sqlite3.connect(live, timeout=30)
        try:
            src.backup(dst)  # one step: one write transaction on the live database
            _integrity(dst)
        finally:
            dst.close()
    except sqlite3.Error as err:
        raise BackupError(f"The restore failed ({err}); the previous database is in {previous}.") from err
    finally:
        src.close()
    return revision, previous


def _paths() -> tuple[Path, Path, Path]:
    from ..extensions import db

    live = sqlite_path(db.engine.url)
    backups = Path(current_app.instance_path) / "backups"
    migrations = Path(current_app.root_path).parent / "migrations"
    return live, backups, migrations


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=True, path_type=Path))
@with_appcontext
def backup_command(path: Path | None):
    """Copy the SQLite database consistently, also while the app runs.

PATH is a new file or a folder; default: instance/backups/okoce-YYYYMMDD-HHMMSS.sqlite.
"""
    try:
        live, backups, _ = _paths()
        if path is None or path.is_dir():
            folder = path or backups
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = default_name(folder)
        written = backup_database(live, path.resolve())
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Backup written: {written} ({written.stat().st_size / 1e6:.1f} MB).")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(path: Path, yes: bool):
    """Replace the SQLite database with a checked backup (the current one is backed up first)."""
    from ..extensions import db

    try:
        live, backups, migrations = _paths()
        revision = check_backup(path.resolve(), migrations)
        if not yes:
            click.confirm(f"Replace {live} with {path} (revision {revision})?", abort=True)
        backups.mkdir(mode=0o700, parents=True, exist_ok=True)
        db.engine.dispose()
        revision, previous = restore_database(path, live, backups, migrations)
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    if previous:
        click.echo(f"The replaced database was saved as {previous}.")
    click.echo(f"Restored {path} (revision {revision}).")
    if revision not in head_revisions(migrations):
        click.echo("The backup is older than this version of the app: run `flask db upgrade` now.")
