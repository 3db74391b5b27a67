from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Optional

from ..core.forms import DateInputField, WholeNumberField, max_length, strip


class ReportForm(FlaskForm):
    month = StringField("Bulan (tahun-bulan)", filters=[strip], validators=[max_length(7)],
                        render_kw={"placeholder": "2026-10"})
    revenue = StringField("Omzet (Rp)", filters=[strip], validators=[max_length(30)], render_kw={"inputmode": "numeric"})
    costs = StringField("Biaya (Rp)", filters=[strip], validators=[max_length(30)], render_kw={"inputmode": "numeric"})
    employees = WholeNumberField("Jumlah karyawan", validators=[Optional()], render_kw={"inputmode": "numeric"})
    note = StringField("Catatan", filters=[strip], validators=[max_length(500)])


class CapitalForm(FlaskForm):
    institution = StringField("Lembaga", filters=[strip], validators=[max_length(150)],
                              render_kw={"placeholder": "mis. Bank DKI"})
    product = StringField("Produk", filters=[strip], validators=[max_length(100)], render_kw={"placeholder": "mis. KUR Mikro"})
    amount = StringField("Jumlah (Rp)", filters=[strip], validators=[max_length(30)], render_kw={"inputmode": "numeric"})
    referred_on = DateInputField("Tanggal dirujuk", validators=[Optional()])
