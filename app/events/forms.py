from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from ..core.forms import DateInputField, WholeNumberField, max_length, strip
from .models import KINDS, REACHES
from wtforms.validators import Optional


class EventForm(FlaskForm):
    kind = SelectField("Jenis acara", choices={"": "— pilih —", **KINDS}, validate_choice=False)
    reach = SelectField("Yang boleh mendaftar", choices=dict(REACHES), validate_choice=False)
    name = StringField("Nama acara", filters=[strip], validators=[max_length(150)])
    venue = StringField("Tempat", filters=[strip], validators=[max_length(200)])
    starts_on = DateInputField("Mulai", validators=[Optional()])
    ends_on = DateInputField("Selesai", validators=[Optional()])
    booths = WholeNumberField("Jumlah stan", validators=[Optional()])
    signup_opens = DateInputField("Pendaftaran dibuka", validators=[Optional()])
    signup_closes = DateInputField("Pendaftaran ditutup", validators=[Optional()])
    kecamatan_id = SelectField("Kecamatan penyelenggara", validate_choice=False)
    fair_order = BooleanField("Urutan adil: peserta yang belum pernah ikut acara didahulukan, yang tidak hadir "
                              "di acara sebelumnya di belakang")


class CancelForm(FlaskForm):
    reason = StringField("Alasan pembatalan", filters=[strip], validators=[max_length(300)])


class PublicSignupForm(FlaskForm):
    reg_number = StringField("Nomor pendaftaran (pada kartu peserta)", filters=[strip], validators=[max_length(40)],
                             render_kw={"placeholder": "317401-2026-00001", "autocomplete": "off"})
    nik = StringField("NIK", filters=[strip], validators=[max_length(40)],
                      render_kw={"inputmode": "numeric", "autocomplete": "off"})
