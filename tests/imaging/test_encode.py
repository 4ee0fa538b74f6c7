"""imaging.encode writes exactly what pydicom's dcmwrite writes, copying what it can."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_files

from imaging import deid, encode
from imaging.phantom import write_phantom
from imaging.prepare import (
    Limits,
    Refused,
    check_decodes,
    check_pixels,
    parse,
    prepare,
    second_look,
)
from tests.imaging.dicom import ct_dataset, to_bytes

FILES = sorted(p for p in get_testdata_files() if Path(p).is_file())
CTX = deid.DeidContext(secret=b"k" * 32, case_key="case", pseudonym="CNS-TEST")
LIMITS = Limits(file_bytes=2**30, decoded_bytes=2**30, frames=5000)


def checked(data: bytes, *, deidentify: bool):
    """The dataset as `prepare` hands it to the encoder, or None if prepare refuses it."""
    try:
        ds = parse(data)
        look = second_look(ds)
        check_pixels(look, LIMITS)
        check_decodes(look)
    except Refused:
        return None
    if deidentify:
        deid.deidentify(ds, CTX)
    ds.preamble = b"\0" * 128
    return ds


def dcmwrite_bytes(ds) -> bytes | Exception:
    out = io.BytesIO()
    try:
        pydicom.dcmwrite(out, ds, enforce_file_format=True)
    except Exception as exc:
        return exc
    return out.getvalue()


@pytest.mark.parametrize("deidentify", [True, False], ids=["deidentified", "as-sent"])
def test_every_corpus_file_encodes_as_dcmwrite_does(deidentify):
    spliced = compared = 0
    for path in FILES:
        data = Path(path).read_bytes()
        if checked(data, deidentify=deidentify) is None:
            continue
        # Two parses: the encoder may bring the file meta in line, as dcmwrite does.
        ours = checked(data, deidentify=deidentify)
        theirs = checked(data, deidentify=deidentify)
        expected = dcmwrite_bytes(theirs)
        if isinstance(expected, Exception):
            with pytest.raises(type(expected)):
                encode.encode(ours, data)
            continue
        spliced += encode._splice(checked(data, deidentify=deidentify), data) is not None
        assert encode.encode(ours, data) == expected, path
        compared += 1
    assert compared > 50
    assert spliced > compared // 2  # the fast path is the common one, not a rare branch


def test_a_phantom_slice_is_spliced_with_its_pixels_copied(tmp_path):
    data = write_phantom(tmp_path, slices=2, size=64, seed=3)[0].read_bytes()
    ds = checked(data, deidentify=True)
    out = encode._splice(ds, data)
    assert out is not None
    assert out == dcmwrite_bytes(checked(data, deidentify=True))
    assert out.endswith(pydicom.dcmread(io.BytesIO(data)).PixelData)


def test_an_element_whose_bytes_differ_from_its_record_is_written_from_the_record():
    data = to_bytes(ct_dataset(rows=4, columns=4))
    tampered = bytearray(data)
    at = tampered.index(b"\x18\x00\x50\x00DS")  # (0018,0050) Slice Thickness, kept
    assert tampered[at + 8 : at + 11] == b"2.5"
    tampered[at + 8] = ord("7")
    # Copying it from the file would write 7.5 where the dataset (what was checked) says 2.5.
    out = encode.encode(checked(data, deidentify=True), bytes(tampered))
    assert out == dcmwrite_bytes(checked(data, deidentify=True))
    assert pydicom.dcmread(io.BytesIO(out)).SliceThickness == 2.5


def stored(data: bytes) -> bytes | None:
    try:
        return prepare(data, LIMITS, CTX).stored
    except Refused:
        return None


def test_values_changed_as_bytes_are_those_the_parsed_path_writes(monkeypatch, tmp_path):
    """De-identification replaces plain text values (dates, UIDs, names) in their bytes,
    without parsing them; with that turned off, every file comes out the same."""
    from tests.imaging.golden import golden_ct, written

    inputs = [Path(p).read_bytes() for p in FILES]
    inputs.append(written(golden_ct()))
    inputs.append(write_phantom(tmp_path, slices=1, size=64, seed=5)[0].read_bytes())
    fast = [stored(data) for data in inputs]
    monkeypatch.setattr(deid, "REWRITE_RAW", False)
    slow = [stored(data) for data in inputs]
    assert sum(out is not None for out in fast) > 50
    for path, ours, theirs in zip([*FILES, "golden", "phantom"], fast, slow, strict=True):
        assert ours == theirs, path
