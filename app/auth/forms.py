from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import EqualTo, Regexp

from ..core.access import ROLE_LABELS, ROLES
from ..core.forms import length_between, max_length, required, strip
from .passwords import MIN_LENGTH, check_password


class LoginForm(FlaskForm):
    username = StringField("Nama pengguna", validators=[required(), max_length(40)], filters=[strip],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Kata sandi", validators=[required(), max_length(128)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class UserForm(FlaskForm):
    username = StringField(
        "Nama pengguna", filters=[strip, lambda v: v.lower() if isinstance(v, str) else v],
        validators=[required(), length_between(3, 40),
                    Regexp(r"^[a-z0-9._-]+$", message="Hanya huruf kecil, angka, titik, garis bawah atau tanda hubung.")],
        description="Dipakai untuk masuk, mis. budi.tebet")
    full_name = StringField("Nama lengkap", validators=[required(), max_length(120)], filters=[strip])
    # Choices are checked by the account service, with Indonesian messages.
    role = SelectField("Peran", choices={r: ROLE_LABELS[r] for r in ROLES}, validators=[required()],
                       validate_choice=False)
    wilayah = SelectField("Wilayah kerja", validators=[required()], validate_choice=False,
                          description="Admin: seluruh provinsi. Manajer: provinsi atau satu kota. "
                                      "Petugas, fasilitator dan pendamping: satu kecamatan.")


class NewUserForm(UserForm):
    password = PasswordField("Kata sandi awal",
                             description=f"Minimal {MIN_LENGTH} karakter dan tidak mudah ditebak. "
                                         "Kosongkan untuk dibuatkan otomatis.",
                             render_kw={"autocomplete": "new-password"})

    def validate_password(self, field):
        """Empty is allowed (a password is generated); anything typed must follow the rules."""
        if field.data:
            check_password(lambda form: [form.username.data, form.full_name.data])(self, field)


def _own_words(_form) -> list[str]:
    from flask_login import current_user

    return [current_user.username, current_user.full_name] if current_user.is_authenticated else []


class PasswordChangeForm(FlaskForm):
    current = PasswordField("Kata sandi sekarang", validators=[required()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("Kata sandi baru", validators=[required(), check_password(_own_words)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Ulangi kata sandi baru",
                            validators=[required(), EqualTo("new", message="Tidak sama dengan kata sandi baru.")],
                            render_kw={"autocomplete": "new-password"})


class ConfirmForm(FlaskForm):
    """An empty form: CSRF token only, for POST buttons."""


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Cari", validators=[max_length(60)], filters=[strip])
    role = SelectField("Peran", choices={"": "Semua peran", **{r: ROLE_LABELS[r] for r in ROLES}},
                       validate_choice=False)
    status = SelectField("Status", choices={"": "Semua", "aktif": "Aktif", "nonaktif": "Nonaktif"},
                         validate_choice=False)
