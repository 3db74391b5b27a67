from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from ..core.forms import DateInputField, TimeInputField, WholeNumberField, max_length, required, strip


class MeetingForm(FlaskForm):
    class Meta:
        csrf = False

    date = DateInputField("Tanggal", validators=[Optional()])
    start_time = TimeInputField("Mulai", validators=[Optional()])
    end_time = TimeInputField("Selesai", validators=[Optional()])
    venue = StringField("Tempat", filters=[strip], validators=[max_length(200)])
    capacity = WholeNumberField("Kapasitas", default=100, validators=[Optional()])


class CourseForm(FlaskForm):
    title = StringField("Judul pelatihan", filters=[strip], validators=[required(), max_length(150)])
    topic = StringField("Topik/materi", filters=[strip], validators=[max_length(300)])
    facilitator_id = SelectField("Fasilitator", validate_choice=False)
    min_meetings = WholeNumberField("Lulus bila hadir sedikitnya … pertemuan", validators=[
        Optional(), NumberRange(1, 50, "Isi angka 1 sampai 50.")],
        description="Kosongkan untuk aturan bawaan: hadir atau terlambat di setiap pertemuan.")
    meetings = FieldList(FormField(MeetingForm), min_entries=1, max_entries=20)
    kecamatan_id = SelectField("Kecamatan", validate_choice=False)


class RuleForm(FlaskForm):
    facilitator_id = SelectField("Fasilitator", validate_choice=False)
    min_meetings = WholeNumberField("Lulus bila hadir sedikitnya … pertemuan", validators=[
        Optional(), NumberRange(1, 50, "Isi angka 1 sampai 50.")],
        description="Kosongkan untuk aturan bawaan: hadir atau terlambat di setiap pertemuan.")
