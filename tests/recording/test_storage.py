"""The local segment store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kgys.errors import NotFound
from kgys.recording.storage import LocalStorage, StorageError, segment_key


def test_segment_key_is_utc_date_and_hour() -> None:
    from datetime import timedelta, timezone

    local = datetime(2025, 3, 1, 2, 30, tzinfo=timezone(timedelta(hours=3)))
    assert segment_key(site_id=4, camera_id=9, start=local, filename="r1_x.ts") == "4/9/2025-02-28/23/r1_x.ts"


def test_put_get_list_delete(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "rec")
    src = tmp_path / "spool" / "a.ts"
    src.parent.mkdir()
    src.write_bytes(b"0123456789")
    key = segment_key(site_id=1, camera_id=2, start=datetime(2025, 3, 1, 8, tzinfo=UTC), filename="a.ts")
    assert store.put(key, src) == 10
    assert not src.exists()
    assert (tmp_path / "rec" / "1" / "2" / "2025-03-01" / "08" / "a.ts").exists()
    assert store.get_range(key) == b"0123456789"
    assert store.get_range(key, 3, 4) == b"3456"
    assert store.get_range(key, 8) == b"89"
    assert list(store.list()) == [key]
    assert list(store.list("1/2")) == [key]
    assert list(store.list("9")) == []
    assert store.free_space() > 0
    store.delete(key)
    store.delete(key)  # a second delete is fine
    assert list(store.list()) == []
    assert not (tmp_path / "rec" / "1").exists()  # empty directories go too
    with pytest.raises(NotFound):
        store.get_range(key)


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "a/../../b", ""])
def test_bad_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).path(key)


def test_put_of_missing_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        LocalStorage(tmp_path / "rec").put("1/2/x.ts", tmp_path / "missing.ts")


def test_a_directory_removed_by_another_store_is_made_again(tmp_path: Path) -> None:
    """The retention job (another process) removes an hour's directory when it empties it; the recorder's
    next segment for that hour still goes in."""
    writer, deleter = LocalStorage(tmp_path / "rec"), LocalStorage(tmp_path / "rec")
    spool = tmp_path / "spool"
    spool.mkdir()
    for name in ("a.ts", "b.ts"):
        (spool / name).write_bytes(name.encode())
    first, second = "1/2/2025-03-01/08/a.ts", "1/2/2025-03-01/08/b.ts"
    writer.put(first, spool / "a.ts")
    deleter.delete(first)
    assert not (tmp_path / "rec" / "1").exists()
    assert writer.put(second, spool / "b.ts") == 4
    assert writer.get_range(second) == b"b.ts"


def test_the_configured_store_is_given_as_the_interface(tmp_path: Path) -> None:
    from kgys.config import Settings
    from kgys.recording.storage import Storage, open_storage, spool_dir

    settings = Settings(mode="dev", data_dir=tmp_path)
    store = open_storage(settings)
    assert isinstance(store, Storage)
    assert store.capacity() >= store.free_space() > 0
    assert spool_dir(settings) == tmp_path / "spool"


def test_a_local_store_reads_in_place_and_as_a_stream(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "rec", fsync=False)
    src = tmp_path / "a.ts"
    src.write_bytes(b"0123456789")
    store.put("1/2/a.ts", src)
    assert store.local_path("1/2/a.ts") == tmp_path / "rec" / "1" / "2" / "a.ts"
    assert store.local_path("1/2/missing.ts") is None
    with store.open("1/2/a.ts") as fh:
        assert fh.read() == b"0123456789"
    with pytest.raises(NotFound):
        store.open("1/2/missing.ts")


def test_a_store_without_local_files_is_read_through_the_interface(tmp_path: Path) -> None:
    from tests.recording.memstore import MemoryStorage

    store = MemoryStorage()
    data = bytes(range(256)) * 20_000  # 5 MB: several pieces
    store.objects["1/2/a.ts"] = data
    assert store.local_path("1/2/a.ts") is None
    with store.open("1/2/a.ts") as fh:
        assert fh.read(10) == data[:10]
        assert fh.read() == data[10:]
    assert store.reads > 2  # read in pieces, not at once
    with pytest.raises(NotFound):
        store.open("1/2/missing.ts")  # at once, not half-way through the reader's work
