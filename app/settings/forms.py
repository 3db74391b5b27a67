from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import AnyOf, Email, NumberRange, Optional, Regexp

from ..core.forms import WholeNumberField, input_required, max_length, required, strip
from .models import MODE_LABELS


class ProgramSettingsForm(FlaskForm):
    mode = RadioField("Mode program", choices=dict(MODE_LABELS), validate_choice=False,
                      validators=[required("Pilih mode."), AnyOf(list(MODE_LABELS), message="Pilih salah satu mode.")])
    target_province = WholeNumberField(
        "Target peserta berizin (P4) per tahun — provinsi",
        validators=[input_required("Isi angka target."), NumberRange(1, 10_000_000, "Target harus antara 1 dan 10.000.000.")])
    target_kelurahan = WholeNumberField(
        "Target peserta berizin (P4) per tahun — tiap kelurahan",
        validators=[input_required("Isi angka target."), NumberRange(1, 100_000, "Target harus antara 1 dan 100.000.")])


class LetterheadForm(FlaskForm):
    office_name = StringField("Nama kantor", validators=[required(), max_length(150)], filters=[strip],
                              description="Mis. Kantor Kecamatan Tebet — Pusat PKT/JakPreneur")
    address = TextAreaField("Alamat", validators=[max_length(300)], filters=[strip], render_kw={"rows": 2})
    phone = StringField("Telepon", validators=[max_length(60)], filters=[strip])
    email = StringField("Surel", validators=[Optional(), max_length(120), Email("Alamat surel tidak sah.")],
                        filters=[strip])
    camat_name = StringField("Nama camat", validators=[max_length(120)], filters=[strip])
    camat_nip = StringField("NIP camat", filters=[strip], validators=[
        Optional(), Regexp(r"^\d{18}$", message="NIP terdiri dari 18 angka tanpa spasi.")])
    logo = FileField("Logo (PNG atau JPEG, paling besar 512 KB)")
    remove_logo = BooleanField("Hapus logo")
