"""The week a weekly report is about, chosen by any day in it."""
from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms.validators import Optional

from ..core.forms import DateInputField
from ..core.timeutil import today_wib
from .figures import monday_of


class WeekForm(FlaskForm):
    class Meta:
        csrf = False

    minggu = DateInputField("Minggu yang memuat tanggal", validators=[Optional()],
                            description="Senin–Minggu; laporan memuat angka sampai akhir minggu itu.")


def chosen_week(form: WeekForm):
    """The Monday of the chosen week (default: last complete week), or None with an error on the field."""
    today = today_wib()
    if not form.validate():
        return None
    if form.minggu.data is None:
        form.minggu.data = monday_of(today) - timedelta(days=7)
        return form.minggu.data
    if form.minggu.data > today:
        form.minggu.errors = ["Minggu itu belum tiba; pilih tanggal hari ini atau sebelumnya."]
        return None
    return monday_of(form.minggu.data)
