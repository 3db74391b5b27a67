from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import Optional

from ..core.forms import DateInputField, max_length, strip
from .actions import ACTIONS as ACTION_FILTERS
from .models import CHANNELS, GENDERS, LICENSE_GROUPS, STAGES, STATUSES
from .steps import STEPS


class ParticipantForm(FlaskForm):
    """Walk-in registration and edit. Cross-record rules live in services."""

    nik = StringField("NIK (16 angka)", filters=[strip], validators=[max_length(40)],
                      render_kw={"inputmode": "numeric", "autocomplete": "off", "autofocus": True,
                                 "maxlength": 40})
    name = StringField("Nama lengkap (sesuai KTP)", filters=[strip], validators=[max_length(150)],
                       render_kw={"autocomplete": "off"})
    birth_date = DateInputField("Tanggal lahir", validators=[Optional()],
                         description="Terisi otomatis dari NIK; sesuaikan dengan KTP bila berbeda.")
    gender = RadioField("Jenis kelamin", choices=dict(GENDERS), validate_choice=False)
    phone = StringField("Nomor HP (WhatsApp)", filters=[strip], validators=[max_length(30)],
                        render_kw={"inputmode": "tel", "autocomplete": "off"},
                        description="Mis. 0812-3456-7890")
    email = StringField("Surel (opsional)", filters=[strip], validators=[max_length(120)],
                        render_kw={"autocomplete": "off"})
    address = StringField("Alamat (jalan, RT/RW)", filters=[strip], validators=[max_length(300)])
    kelurahan = StringField("Kelurahan domisili", filters=[strip], validators=[max_length(120)],
                            render_kw={"list": "kelurahan-list", "autocomplete": "off"},
                            description="Ketik nama kelurahan lalu pilih dari daftar.")
    business_name = StringField("Nama usaha", filters=[strip], validators=[max_length(150)])
    sector_id = SelectField("Sektor usaha", validate_choice=False)
    stage = SelectField("Tahap usaha", choices={"": "— pilih —", **STAGES}, validate_choice=False)
    confirm_identity = BooleanField("Data KTP memang berbeda dari NIK (sudah diperiksa)")
    confirm_duplicate = BooleanField("Sudah diperiksa: ini orang yang berbeda")
    kecamatan_id = SelectField("Kecamatan pendaftar", validate_choice=False)


class OnlineForm(ParticipantForm):
    """Public self-registration: the same fields, plus the kecamatan office to go to."""

    kecamatan_id = SelectField("Kantor kecamatan yang dituju", validate_choice=False,
                               description="Kecamatan yang akan menghubungi Anda.")
    agree = BooleanField("Saya menyetujui data ini dipakai untuk program JakPreneur/OK OCE sesuai UU 27/2022 "
                         "tentang Pelindungan Data Pribadi.")


class RejectForm(FlaskForm):
    reason = StringField("Alasan penolakan", filters=[strip], validators=[max_length(300)])


class MergeForm(FlaskForm):
    target = StringField("Nomor pendaftaran atau NIK peserta tujuan", filters=[strip], validators=[max_length(40)])


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Cari nama, NIK atau nomor HP", filters=[strip], validators=[max_length(60)])
    kelurahan = SelectField("Kelurahan", validate_choice=False)
    step = SelectField("Langkah dicapai", choices={"": "Semua", **{str(s.number): f"{s.code} {s.name}" for s in STEPS}},
                       validate_choice=False)
    capai_dari = DateInputField("Langkah dicapai dari", validators=[Optional()])
    capai_sampai = DateInputField("Langkah dicapai sampai", validators=[Optional()])
    izin = SelectField("Jenis izin (P4)", choices={"": "Semua", **{k: v[0] for k, v in LICENSE_GROUPS.items()}},
                       validate_choice=False)
    kota = SelectField("Kota domisili", validate_choice=False)
    kecamatan = SelectField("Kecamatan domisili", validate_choice=False)
    channel = SelectField("Jalur", choices={"": "Semua", **CHANNELS}, validate_choice=False)
    tanpa_hp = BooleanField("Hanya yang tanpa nomor HP")
    tak_urut = BooleanField("Hanya yang punya langkah tidak berurutan",
                            description="Dengan tanggal di atas: langkah tak berurutan yang dicapai pada rentang itu.")
    duplikat = BooleanField("Hanya dugaan duplikat",
                            description="Nama dan tanggal lahir sama dengan peserta lain dari kecamatan pendaftar yang sama.")
    status = SelectField("Status", choices={"": "Semua", **STATUSES}, validate_choice=False)
    dari = DateInputField("Terdaftar dari", validators=[Optional()])
    sampai = DateInputField("sampai", validators=[Optional()])
    aksi = SelectField("Perlu tindakan", choices={"": "Semua", **{k: a.label for k, a in ACTION_FILTERS.items()}},
                       validate_choice=False)
    urut = SelectField("Urutkan", choices={"baru": "Terbaru", "lama": "Terlama", "nama": "Nama A–Z",
                                           "nomor": "Nomor pendaftaran"}, validate_choice=False)


class ImportUploadForm(FlaskForm):
    file = FileField("Berkas CSV atau XLSX")
    kecamatan_id = SelectField("Kecamatan pendaftar", validate_choice=False)
