"""One home for each repeated rule (issue 16): the code is searched for second copies."""
import inspect
import re
from pathlib import Path

import app as app_package
from app.core.errors import DomainError

APP = Path(app_package.__file__).resolve().parent
ROOMS = ("auth", "settings", "participants", "training", "mentoring", "licensing", "events", "business",
         "reports", "audit", "demo")


def sources():
    for path in sorted(APP.rglob("*.py")):
        yield path.relative_to(APP).as_posix(), path.read_text()


def test_no_module_imports_the_views_of_another_room():
    offenders = [name for name, text in sources() if re.search(r"from \.\.\w+\.views\w* import", text)]
    assert offenders == []


def test_core_depends_on_no_room_above_it():
    pattern = re.compile(rf"from \.\.({'|'.join(ROOMS)})\b")
    offenders = [name for name, text in sources() if name.startswith("core/") and pattern.search(text)]
    assert offenders == []


def test_the_step_rule_is_asked_through_check_step_only():
    """Order and date of a step are checked by participants.services.check_step / check_step_date."""
    offenders = [name for name, text in sources() if name != "participants/services.py"
                 and re.search(r"\b(check_step_order|step_date_error)\(", text)]
    assert offenders == []


def test_has_a_step_is_answered_one_way():
    """"Has this participant reached Pn?" in a query is Participant.has_step (the trigger-kept mask)."""
    pattern = re.compile(r"exists\(\)\.where\(ParticipantStep\.participant_id == Participant\.id,\s*ParticipantStep\.step ==")
    offenders = [name for name, text in sources() if pattern.search(text)]
    assert offenders == [] and "def has_step(" in (APP / "participants" / "models.py").read_text()


def test_every_domain_error_is_a_domain_error():
    import app.auth.services, app.business.services, app.events.services, app.licensing.services  # noqa: E401
    import app.mentoring.services, app.participants.importer, app.participants.services  # noqa: E401
    import app.settings.services, app.training.services  # noqa: E401

    classes = [cls for module in (app.auth.services, app.business.services, app.events.services,
                                  app.licensing.services, app.mentoring.services, app.participants.importer,
                                  app.participants.services, app.settings.services, app.training.services)
               for _, cls in inspect.getmembers(module, inspect.isclass)
               if cls.__module__ == module.__name__ and issubclass(cls, Exception)]
    assert len(classes) >= 10 and all(issubclass(cls, DomainError) for cls in classes), classes
