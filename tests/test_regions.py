from sqlalchemy import func, select

from app.extensions import db
from app.regions.models import Kecamatan, Kelurahan, Kota
from app.regions.services import load_regions


def counts():
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Kota, Kecamatan, Kelurahan))


def test_regions_counts(ctx):
    assert counts() == (6, 44, 267)


def test_loading_twice_changes_nothing(ctx):
    before = {k.code: (k.id, k.name) for k in db.session.scalars(select(Kelurahan))}
    result = load_regions()
    db.session.commit()
    assert (result.created, result.updated, result.unchanged) == (0, 0, 6 + 44 + 267)
    assert counts() == (6, 44, 267)
    assert {k.code: (k.id, k.name) for k in db.session.scalars(select(Kelurahan))} == before


def test_cli_load_is_idempotent(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["regions", "load"])
    assert result.exit_code == 0
    assert "0 created, 0 updated, 317 unchanged" in result.output


def test_kemendagri_codes_not_bps(ctx):
    kota = {k.code: k.name for k in db.session.scalars(select(Kota))}
    assert kota["31.71"] == "Kota Administrasi Jakarta Pusat"
    assert kota["31.74"] == "Kota Administrasi Jakarta Selatan"
    tebet = db.session.scalars(select(Kecamatan).where(Kecamatan.code == "31.74.01")).one()
    assert tebet.name == "Tebet" and tebet.nik_prefix == "317401" and tebet.kota.code == "31.74"
    assert len(tebet.kelurahan) == 7
