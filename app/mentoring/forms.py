from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from ..core.forms import DateInputField, max_length, strip
from wtforms.validators import Optional


class VisitForm(FlaskForm):
    visit_date = DateInputField("Tanggal kunjungan", validators=[Optional()])
    topic = StringField("Topik", filters=[strip], validators=[max_length(150)])
    notes = TextAreaField("Catatan", filters=[strip], validators=[max_length(2000)], render_kw={"rows": 3})
    next_step = StringField("Langkah berikutnya", filters=[strip], validators=[max_length(300)])
    follow_up_on = DateInputField("Tanggal tindak lanjut (opsional)", validators=[Optional()])
