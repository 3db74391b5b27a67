"""The kecamatan desk for OK OCE / JakPreneur."""
from flask import Flask, redirect, request, url_for
from flask_login import current_user

from .config import load_config
from .extensions import csrf, db, limiter, login_manager, migrate


def create_app(config: dict | None = None, instance_path: str | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    load_config(app, config)
    register_extensions(app)
    register_converters(app)
    register_blueprints(app)
    register_cli(app)
    register_errors(app)
    register_template_helpers(app)
    register_request_hooks(app)
    register_jobs(app)
    return app


def _migration_compares(*args) -> bool:
    """Alembic compares models and database except for objects kept by migrations alone (the search index)."""
    from .participants.search import include_object

    return include_object(*args)


def register_extensions(app: Flask) -> None:
    from .core.db import configure_postgresql, configure_sqlite, sqlite_engine_options

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = sqlite_engine_options(app.config["SQLALCHEMY_DATABASE_URI"],
                                                                   app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
        configure_postgresql(db.engine)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True,
                     compare_type=True, include_object=_migration_compares)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Silakan masuk terlebih dahulu."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from .auth.sessions import init_sessions

    init_sessions(app)

    from .auth.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        ident, _, token = user_id.partition(":")
        if not ident.isdigit():
            return None
        user = db.session.get(User, int(ident))
        if user is None or not user.active or user.session_token != token:
            return None
        return user


def register_converters(app: Flask) -> None:
    """Before the blueprints: their rules bind the converters present when they are added."""
    from .core.converters import IdConverter

    app.url_map.converters["int"] = IdConverter


def register_blueprints(app: Flask) -> None:
    from . import main
    from .auth import bp as auth_bp
    from .demo import bp as demo_bp
    from .participants import bp as participants_bp
    from .training import bp as training_bp
    from .licensing import bp as licensing_bp
    from .mentoring import bp as mentoring_bp
    from .business import bp as business_bp
    from .events import bp as events_bp
    from .regions import bp as regions_bp
    from .settings import bp as settings_bp
    from .reports import bp as reports_bp
    from .core import audit, once, sequences  # noqa: F401  (model registration)
    from .audit import bp as audit_bp
    from .jobs import bp as jobs_bp

    for bp in (main.bp, regions_bp, auth_bp, settings_bp, participants_bp, training_bp, mentoring_bp, licensing_bp,
               events_bp, business_bp, reports_bp, audit_bp, jobs_bp, demo_bp):
        app.register_blueprint(bp)


def register_cli(app: Flask) -> None:
    from .core.backup import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


def register_errors(app: Flask) -> None:
    from .core.errors import register_errors as _register
    from .core.security import register_security

    _register(app)
    register_security(app)


def register_template_helpers(app: Flask) -> None:
    from .core.access import ROLE_LABELS, may
    from .core.formatting import FILTERS
    from .core.htmx import HTMX_VERSION
    from .core.navigation import Menu

    from .core.pdf import embedded_image_uri
    from .core.public import public_url

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals["may"] = may
    app.jinja_env.globals["public_url"] = public_url
    app.jinja_env.globals["letterhead_logo_uri"] = lambda lh: embedded_image_uri(lh.logo, lh.logo_mime)

    @app.context_processor
    def _globals():
        return {
            "htmx_version": HTMX_VERSION,
            "role_labels": ROLE_LABELS,
            "menu": Menu(current_user),
            "province_name": app.config["PROVINCE_NAME"],
        }


def register_jobs(app: Flask) -> None:
    """The task queue (TASK_QUEUE_URL) and every task, in the web servers and the worker alike."""
    from .jobs.queue import configure_queue
    from .jobs import tasks  # noqa: F401
    from .participants import jobs as participant_jobs  # noqa: F401
    from .training import jobs as training_jobs  # noqa: F401
    from .licensing import jobs as licensing_jobs  # noqa: F401
    from .events import jobs as event_jobs  # noqa: F401
    from .reports import jobs as report_jobs  # noqa: F401

    configure_queue(app)


def register_request_hooks(app: Flask) -> None:
    from .core.db import enter_view
    from .core.once import register_once

    allowed = {"auth.change_own_password", "auth.logout", "static"}

    @app.before_request
    def _force_password_change():
        if (current_user.is_authenticated and current_user.must_change_password
                and request.endpoint not in allowed):
            return redirect(url_for("auth.change_own_password"))
        return None

    register_once(app)  # after the login and password checks: a refused request claims nothing
    app.before_request(enter_view)  # last: a writing view holds SQLite's write lock from here
