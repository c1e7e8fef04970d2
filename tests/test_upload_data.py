"""upload_data.read_capped: bytes-likes, paths and binary files are read, at most ``limit + 1`` bytes of a
path or file; one byte over the limit is TooLarge; text files and other objects are refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from picstore.errors import InvalidRequest, TooLarge
from picstore.upload_data import Data, read_capped

LIMIT = 10


class Counting(io.BytesIO):
    """A binary file that records how many bytes were asked for."""

    asked: list[int]

    def read(self, size: int | None = -1) -> bytes:
        self.asked = [*getattr(self, "asked", []), -1 if size is None else size]
        return super().read(size)


KINDS = ["bytes", "bytearray", "memoryview", "str path", "Path", "file"]


def _as(kind: str, payload: bytes, tmp_path: Path) -> Data:
    """``payload`` handed over as ``kind`` (a path is written under ``tmp_path`` first)."""
    path = tmp_path / "f.bin"
    path.write_bytes(payload)
    forms: dict[str, Data] = {
        "bytes": payload,
        "bytearray": bytearray(payload),
        "memoryview": memoryview(payload),
        "str path": str(path),
        "Path": path,
        "file": io.BytesIO(payload),
    }
    return forms[kind]


@pytest.mark.parametrize("size", [0, LIMIT - 1, LIMIT])
@pytest.mark.parametrize("kind", KINDS)
def test_up_to_the_limit_every_kind_is_read_whole(tmp_path: Path, kind: str, size: int) -> None:
    payload = bytes(range(size))
    got = read_capped(_as(kind, payload, tmp_path), LIMIT)
    assert got == payload and type(got) is bytes


@pytest.mark.parametrize("kind", KINDS)
def test_one_byte_over_the_limit_is_too_large(tmp_path: Path, kind: str) -> None:
    data = _as(kind, b"x" * (LIMIT + 1), tmp_path)
    with pytest.raises(TooLarge, match=r"^the upload is larger than the limit of 10 bytes$"):
        read_capped(data, LIMIT)
    with pytest.raises(TooLarge, match="limit of 1,000 bytes"):
        read_capped(b"x" * 1001, 1000)


def test_a_file_or_path_is_read_only_one_byte_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = Counting(b"x" * 1000)
    with pytest.raises(TooLarge):
        read_capped(big, LIMIT)
    assert big.asked == [LIMIT + 1] and big.tell() == LIMIT + 1
    path = tmp_path / "big.bin"
    path.write_bytes(b"y" * 1000)
    opened: list[Counting] = []
    real_open = Path.open

    def open_counting(self: Path, mode: str = "r") -> Counting:
        assert mode == "rb"
        with real_open(self, "rb") as fh:
            opened.append(Counting(fh.read()))
        return opened[-1]

    monkeypatch.setattr(Path, "open", open_counting)
    with pytest.raises(TooLarge):
        read_capped(path, LIMIT)
    assert opened[0].asked == [LIMIT + 1]


def test_text_files_and_other_objects_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match=r"^the file object must be opened in binary mode$"):
        read_capped(io.StringIO("abc"), LIMIT)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match=r"^cannot read image data from int$"):
        read_capped(42, LIMIT)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        read_capped(tmp_path / "missing.jpg", LIMIT)
