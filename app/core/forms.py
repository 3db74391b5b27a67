"""Form helpers shared by every domain: Indonesian messages, length limits, choices."""
from wtforms import DateField, IntegerField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from .timeutil import MAX_DATE, MIN_DATE, date_in_range

REQUIRED = "Wajib diisi."


def required(message: str = REQUIRED):
    return DataRequired(message=message)


def input_required(message: str = REQUIRED):
    return InputRequired(message=message)


def max_length(n: int):
    return Length(max=n, message=f"Terlalu panjang: paling banyak {n} karakter.")


def length_between(lo: int, hi: int):
    return Length(min=lo, max=hi, message=f"Panjang harus {lo}–{hi} karakter.")


def strip(value):
    return value.strip() if isinstance(value, str) else value


def add_error(form, field_name: str | None, message: str) -> None:
    """Show ``message`` next to the named field, or as a flash message when the form has no such field."""
    from flask import flash

    field = getattr(form, field_name, None) if (field_name and form is not None) else None
    if field is None:
        flash(message, "error")
    else:
        field.errors = list(field.errors) + [message]


def show_error(err, form=None, default_field: str | None = None) -> None:
    """The one way a view shows a :class:`~app.core.errors.DomainError`: each message next to its
    field on ``form`` (or on ``default_field`` when it names none), else as a flash message."""
    for field_name, message in err.errors:
        add_error(form, field_name or default_field, message)


class WholeNumberField(IntegerField):
    """An integer field whose parse error is Indonesian (and accepts '1.000' with dots)."""

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str):
            valuelist = [valuelist[0].strip().replace(".", "")]
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError("Isi dengan bilangan bulat, mis. 100.") from None


class DateInputField(DateField):
    """A date field whose parse error is Indonesian; a date outside 1900–2100 is a parse error too
    (``data`` stays None), so no filter or service computes with year 1 or 9999."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Tanggal tidak sah; gunakan format hari-bulan-tahun dari kalender.") from None
        if self.data is not None and not date_in_range(self.data):
            self.data = None
            raise ValueError(f"Tanggal di luar rentang; isi antara tahun {MIN_DATE.year} dan {MAX_DATE.year}.")


class TimeInputField(TimeField):
    """A time field whose parse error is Indonesian."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Jam tidak sah; gunakan format jam:menit, mis. 09:00.") from None
