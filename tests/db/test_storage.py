"""Storage primitives: mask codec, password hashing, schema migrations, engine settings."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sqlalchemy import func, select

import db
from db.errors import MaskIntegrityError
from db.models import MaskBlob
from db.security.passwords import hash_password, verify_password
from db.workflow.masks import EncodedMask, decode_mask, encode_mask


@pytest.mark.parametrize("dtype", ["uint8", "bool", "int16"])
def test_mask_round_trip_is_exact(dtype):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=(7, 33, 19)).astype(dtype)
    enc = encode_mask(labels)
    back = decode_mask(enc)
    assert back.dtype == labels.dtype and back.shape == labels.shape
    assert np.array_equal(back, labels)


def test_mask_edge_cases_and_compactness():
    for arr in (np.zeros((0, 4, 4), np.uint8), np.zeros((3, 4, 5), np.uint8), np.full((2, 2, 2), 2, np.uint8)):
        assert np.array_equal(decode_mask(encode_mask(arr)), arr)
    zz, yy, xx = np.ogrid[:120, :256, :256]
    blob = ((zz - 60) ** 2 / 50**2 + (yy - 128) ** 2 / 90**2 + (xx - 80) ** 2 / 50**2 < 1).astype(np.uint8)
    enc = encode_mask(blob)
    assert enc.n_runs < 50_000 and enc.nbytes < blob.nbytes / 200
    assert np.array_equal(decode_mask(enc), blob)
    # same content -> same checksum (content address); one voxel changed -> another one
    assert encode_mask(blob.copy()).sha256 == enc.sha256
    blob[60, 128, 80] = 2
    assert encode_mask(blob).sha256 != enc.sha256


def test_corrupt_mask_is_refused():
    enc = encode_mask(np.arange(60, dtype=np.uint8).reshape(3, 4, 5) % 3)
    bad_data = bytearray(enc.data)
    bad_data[len(bad_data) // 2] ^= 0xFF
    with pytest.raises(MaskIntegrityError):
        decode_mask(EncodedMask(enc.shape, enc.dtype, enc.codec, enc.n_runs, enc.sha256, bytes(bad_data)))
    with pytest.raises(MaskIntegrityError, match="voxels"):
        decode_mask(EncodedMask((3, 4, 6), enc.dtype, enc.codec, enc.n_runs, enc.sha256, enc.data))
    with pytest.raises(MaskIntegrityError, match="checksum"):
        decode_mask(EncodedMask(enc.shape, enc.dtype, enc.codec, enc.n_runs, "0" * 64, enc.data))
    with pytest.raises(MaskIntegrityError, match="dtype"):
        encode_mask(np.zeros(3, np.float32))


def test_passwords_are_salted_scrypt():
    a, b = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert a != b and a.startswith("scrypt$16384$8$1$")
    assert verify_password("s3cret-pass", a) and verify_password("s3cret-pass", b)
    assert not verify_password("s3cret-pasS", a)
    assert not verify_password("s3cret-pass", "garbage")
    _, n, r, p, salt, key = a.split("$")
    expected = hashlib.scrypt(b"s3cret-pass", salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    assert expected.hex() == key


def test_sqlite_engine_settings_and_migrations(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from db.migrations import current_revision, head_revision
    from db.models import Base

    database = db.connect(tmp_path / "x.sqlite")
    assert current_revision(database.engine) == head_revision() == "0006"
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        # the migration creates exactly the schema the models describe
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    database.dispose()
    # default location honours LUNGREAD_DATA_DIR (set per test by conftest)
    default = db.connect()
    assert str(db.default_data_dir()) in default.url
    default.dispose()


def test_identical_masks_are_stored_once(tmp_path):
    from db.workflow.read_store import store_mask

    database = db.connect(tmp_path / "m.sqlite")
    enc = encode_mask(np.eye(8, dtype=np.uint8)[None].repeat(3, 0))

    def work(s):
        store_mask(s, enc)
        store_mask(s, enc)

    database.write(work)
    database.write(work)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(MaskBlob)) == 1
    database.dispose()


def test_upgrade_from_0001_keeps_package_tables_created_on_first_use(tmp_path):
    """Databases from before revision 0002 may already hold the package tables (they used to be
    created on first use): upgrading keeps them and their rows."""
    import sqlalchemy as sa
    from alembic import command

    from db.migrations import alembic_config, current_revision
    from db.models.packages import PACKAGE_TABLES

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        PACKAGE_TABLES[0].metadata.create_all(conn, tables=list(PACKAGE_TABLES))
        conn.exec_driver_sql(
            "INSERT INTO reading_packages VALUES ('p1', 1, 'k', 1, 't', '[]', 'm', 0, 0, NULL)")
    engine.dispose()
    upgraded = db.connect(tmp_path / "old.sqlite")
    assert current_revision(upgraded.engine) == "0006"
    with upgraded.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT package_id FROM reading_packages").scalar() == "p1"
    upgraded.dispose()
