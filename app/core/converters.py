"""Record ids as the database holds them: 1 to 2**31 - 1, ASCII digits only.

Every primary and foreign key is an ``INTEGER`` column: 32 bits on PostgreSQL (a larger value
fails the query with "integer out of range"), 64 on SQLite (beyond that the driver overflows).
:class:`IdConverter` replaces Werkzeug's ``int`` for every route, so ``/peserta/99999999999999999999``
does not match (404) instead of failing in the database; :func:`parse_id` applies the same rule
to an id that arrives in a query string or a form. Should the ids become ``BIGINT``, raise
:data:`MAX_ID` to 2**63 - 1 here and nowhere else.
"""
import re

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest PostgreSQL INTEGER
_DIGITS = re.compile(r"[0-9]{1,%d}" % len(str(MAX_ID)))


def parse_id(value) -> int | None:
    """The id in ``value`` (an int or a string of ASCII digits) if it is a possible record id, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


class IdConverter(IntegerConverter):
    """``<int:...>`` for every route: ASCII digits (``\\d`` would take other scripts' digits too),
    no more than :data:`MAX_ID` has, and a value from 1 to :data:`MAX_ID`; anything else is no
    match, so 404."""

    regex = _DIGITS.pattern

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_ids(values, limit: int) -> list[int]:
    """The possible record ids among ``values`` (a form's checkbox list), at most ``limit`` of them."""
    return [ident for value in values if (ident := parse_id(value)) is not None][:limit]
