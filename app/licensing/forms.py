from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Optional

from ..core.forms import DateInputField, max_length, strip


class LicenseForm(FlaskForm):
    kind = SelectField("Jenis izin", choices={"": "— pilih —", "sku": "SKU (Surat Keterangan Usaha)", "iumk": "IUMK",
                                              "nib": "NIB (OSS, 13 angka)"}, validate_choice=False)
    number = StringField("Nomor izin", filters=[strip], validators=[max_length(80)])
    issued_on = DateInputField("Tanggal terbit", validators=[Optional()])
    kelurahan_id = SelectField("Kelurahan penerbit (untuk SKU)", validate_choice=False)


class LetterForm(FlaskForm):
    signer = SelectField("Penanda tangan", choices={"camat": "Camat (dari kop surat)", "lain": "Pejabat lain"},
                         validate_choice=False)
    signer_name = StringField("Nama pejabat lain", filters=[strip], validators=[max_length(120)])
    signer_title = StringField("Jabatan", filters=[strip], validators=[max_length(120)])
    signer_nip = StringField("NIP", filters=[strip], validators=[max_length(30)])


class CancelForm(FlaskForm):
    reason = StringField("Alasan pembatalan", filters=[strip], validators=[max_length(300)])
