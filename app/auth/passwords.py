"""Password rules (OWASP ASVS level 2, section 2.1): length and guessability, no composition rules.

At least 12 characters and at most 128; any character is allowed (spaces too). A password
that a guessing attack would find early is refused: zxcvbn estimates the guesses from its
bundled lists of common and breached passwords, words, names, keyboard patterns, dates and
repeats, and from the words of this account and this program that an attacker would try
first. Score 3 of 4 (about 10^8 guesses) is the bar.
"""
import re

from wtforms.validators import ValidationError
from zxcvbn import zxcvbn

MIN_LENGTH, MAX_LENGTH = 12, 128
MIN_SCORE = 3
# Words an attacker of this app tries first (zxcvbn knows English, not these).
PROGRAM_WORDS = ["okoce", "ok oce", "jakpreneur", "jakarta", "dki", "kecamatan", "kelurahan", "indonesia",
                 "merdeka", "rahasia", "katasandi", "sandi", "masuk", "admin", "petugas", "bismillah",
                 "sayang", "cinta", "selamat", "pemprov", "dinas", "sudin", "umkm", "wirausaha"]


def password_problem(password: str, user_inputs: list[str] | tuple[str, ...] = ()) -> str | None:
    """The Indonesian message for what is wrong with ``password``, or None when it may be used."""
    if len(password) < MIN_LENGTH:
        return f"Kata sandi minimal {MIN_LENGTH} karakter."
    if len(password) > MAX_LENGTH:
        return f"Kata sandi paling banyak {MAX_LENGTH} karakter."
    own = []
    for value in filter(None, user_inputs):
        words = re.split(r"[^0-9a-z]+", str(value).lower())
        own += [str(value).lower(), "".join(words), *(w for w in words if len(w) >= 3)]
    if zxcvbn(password, user_inputs=[*own, *PROGRAM_WORDS], max_length=MAX_LENGTH)["score"] < MIN_SCORE:
        return ("Kata sandi ini mudah ditebak (kata sandi umum, nama, kata program, tanggal atau pola "
                "keyboard). Pakai beberapa kata acak yang tidak berhubungan, mis. \"sepeda hujan kopi lima\".")
    return None


def check_password(user_inputs=()):
    """A WTForms validator; ``user_inputs(form)`` gives the account's own words (name, user name)."""

    def validator(form, field):
        problem = password_problem(field.data or "", user_inputs(form) if callable(user_inputs) else user_inputs)
        if problem:
            raise ValidationError(problem)

    return validator
