import io

from PIL import Image
from sqlalchemy import select

from app.core.audit import AuditLog
from app.extensions import db
from app.settings.models import Letterhead, ProgramSetting
from tests.conftest import kecamatan_by_code, post_form


def _image(fmt="PNG", size=(40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, fmt)
    return buffer.getvalue()


def test_program_settings_defaults_and_edit(app, client, login_as):
    login_as("admin")
    html = client.get("/pengaturan").get_data(as_text=True)
    assert 'value="40000"' in html and 'value="200"' in html and "Berurutan (OK OCE)" in html
    response = post_form(client, "/pengaturan", {"mode": "bebas", "target_province": "50000",
                                                 "target_kelurahan": "250"}, token_url="/pengaturan")
    assert response.status_code == 302
    with app.app_context():
        settings = db.session.get(ProgramSetting, 1)
        assert (settings.mode, settings.target_province_per_year, settings.target_kelurahan_per_year) == (
            "bebas", 50000, 250)
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "settings.update")).one()
        assert entry.changes["mode"] == {"before": "berurutan", "after": "bebas"}


def test_program_settings_bad_input(app, client, login_as):
    login_as("admin")
    response = post_form(client, "/pengaturan", {"mode": "acak", "target_province": "-5",
                                                 "target_kelurahan": "dua ratus"}, token_url="/pengaturan")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Target harus antara 1 dan 10.000.000." in html
    assert "Pilih salah satu mode." in html and "Not a valid" not in html
    assert 'value="dua ratus"' in html and "Isi dengan bilangan bulat" in html and "Not a valid" not in html
    with app.app_context():
        assert db.session.get(ProgramSetting, 1).mode == "berurutan"


def test_letterhead_list_and_edit_with_logo(app, client, login_as):
    login_as("admin")
    with app.app_context():
        tebet = kecamatan_by_code("31.74.01").id
    listing = client.get("/pengaturan/kop-surat").get_data(as_text=True)
    assert listing.count("Bawaan") == 44
    url = f"/pengaturan/kop-surat/{tebet}"
    assert "Kantor Kecamatan Tebet" in client.get(url).get_data(as_text=True)
    response = post_form(client, url, {
        "office_name": "Kantor Kecamatan Tebet", "address": "Jl. Prof. Dr. Soepomo No. 1, Jakarta Selatan",
        "phone": "021-8290000", "email": "tebet@example.go.id", "camat_name": "Drs. Contoh Camat",
        "camat_nip": "197001011990031001", "logo": (io.BytesIO(_image()), "logo.png")},
        token_url=url, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        lh = db.session.scalars(select(Letterhead).where(Letterhead.kecamatan_id == tebet)).one()
        assert lh.camat_nip == "197001011990031001" and lh.logo_mime == "image/png"
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "letterhead.save")).one()
    logo = client.get(f"/pengaturan/kop-surat/{tebet}/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    pdf = client.get(f"/dokumen/uji?kecamatan={tebet}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_letterhead_refuses_bad_logo_and_nip(app, client, login_as):
    login_as("admin")
    with app.app_context():
        tebet = kecamatan_by_code("31.74.01").id
    url = f"/pengaturan/kop-surat/{tebet}"
    response = post_form(client, url, {"office_name": "Kantor Kecamatan Tebet", "camat_nip": "12 34",
                                       "logo": (io.BytesIO(b"<svg>not an image</svg>"), "logo.png")},
                         token_url=url, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "NIP terdiri dari 18 angka" in html
    bad_logo = post_form(client, url, {"office_name": "Kantor Kecamatan Tebet",
                                       "logo": (io.BytesIO(b"GIF89a....."), "logo.gif")},
                         token_url=url, content_type="multipart/form-data")
    assert bad_logo.status_code == 422
    assert "bukan gambar PNG atau JPEG yang sah" in bad_logo.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Letterhead)).first() is None  # nothing half-saved


def test_a_new_office_fills_its_own_letterhead_from_the_letter_page(app, client, login_as, make_participant):
    """No dead end: the letter page says the camat's name is missing and leads the desk to its own
    letterhead, which it may keep (and only its own)."""
    login_as("staff")
    pid = make_participant()
    with app.app_context():
        tebet, menteng = kecamatan_by_code("31.74.01").id, kecamatan_by_code("31.71.06").id
    page = client.get(f"/peserta/{pid}/surat-sku").get_data(as_text=True)
    assert "Nama camat belum diisi di kop surat Kecamatan Tebet" in page
    assert f'href="/pengaturan/kop-surat/{tebet}"' in page
    assert f'href="/pengaturan/kop-surat"' in client.get("/").get_data(as_text=True)  # in the menu
    listing = client.get("/pengaturan/kop-surat").get_data(as_text=True)
    assert "Tebet" in listing and "Menteng" not in listing
    assert client.get(f"/pengaturan/kop-surat/{menteng}").status_code == 404
    url = f"/pengaturan/kop-surat/{tebet}"
    saved = post_form(client, url, {"office_name": "Kantor Kecamatan Tebet", "address": "Jl. Soepomo 1", "phone": "",
                                    "email": "", "camat_name": "Drs. Camat Tebet", "camat_nip": "197001011990031001"},
                      token_url=url, content_type="multipart/form-data")
    assert saved.status_code == 302
    page = client.get(f"/peserta/{pid}/surat-sku").get_data(as_text=True)
    assert "belum diisi" not in page and "Camat: Drs. Camat Tebet" in page
    assert post_form(client, f"/pengaturan/kop-surat/{menteng}", {"camat_name": "Orang Lain"},
                     token_url="/").status_code == 404


def test_a_facilitator_keeps_no_letterhead(app, client, login_as):
    login_as("facilitator")
    assert client.get("/pengaturan/kop-surat").status_code == 403
