"""imaging.fastpath gives exactly what the pydicom path of imaging.prepare gives."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_files
from pydicom.uid import ImplicitVRLittleEndian

from imaging import deid, fastpath, prepare
from imaging.phantom import write_phantom
from tests.imaging.dicom import ct_bytes
from tests.imaging.golden import golden_ct, written

FILES = sorted(p for p in get_testdata_files() if Path(p).is_file())
CTX = deid.DeidContext(secret=b"k" * 32, case_key="case", pseudonym="CNS-TEST")
LIMITS = prepare.Limits(file_bytes=2**30, decoded_bytes=2**30, frames=5000)


def inputs(tmp_path) -> dict[str, bytes]:
    named = {Path(p).name: Path(p).read_bytes() for p in FILES}
    named["golden"] = written(golden_ct())
    named["golden, no dummy sequence"] = written(without_dummy_sequences(golden_ct()))
    named["ct"] = ct_bytes()
    for number, path in enumerate(write_phantom(tmp_path, slices=3, size=64, seed=2)):
        named[f"phantom {number}"] = path.read_bytes()
    # The same files in implicit VR, as many CD exports are.
    for name, data in list(named.items()):
        converted = implicit_vr(data)
        if converted is not None:
            named[f"{name}, implicit VR"] = converted
    return named


def implicit_vr(data: bytes) -> bytes | None:
    """The file re-encoded in Implicit VR Little Endian, if it is uncompressed."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            return None
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        out = io.BytesIO()
        pydicom.dcmwrite(out, ds, enforce_file_format=True)
    except Exception:  # files pydicom itself cannot rewrite are left out
        return None
    return out.getvalue()


def without_dummy_sequences(ds):
    """The golden dataset without the sequences the profile fills with dummies (which the
    fast path leaves to pydicom): nested, private, kept, emptied and removed ones remain."""
    for elem in list(ds):
        if elem.VR == "SQ" and deid.action_for(int(elem.tag), "SQ") == "D":
            del ds[elem.tag]
    return ds


def slow(data: bytes, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(prepare, "FAST_PATH", False)
        try:
            return prepare.prepare(data, LIMITS, CTX)
        except prepare.Refused:
            return None


def test_wherever_the_fast_path_answers_it_answers_as_the_pydicom_path(tmp_path, monkeypatch):
    taken = []
    for name, data in inputs(tmp_path).items():
        fast = fastpath.prepare_fast(data, LIMITS, CTX)
        if fast is None:
            continue
        taken.append(name)
        expected = slow(data, monkeypatch)
        assert expected is not None, name
        assert fast.stored == expected.stored, name
        assert fast.instance == expected.instance, name
        assert fast.study == expected.study, name
        assert fast.series == expected.series, name
        assert (fast.sop_instance_uid, fast.study_instance_uid, fast.series_instance_uid) == (
            expected.sop_instance_uid,
            expected.study_instance_uid,
            expected.series_instance_uid,
        ), name
    # It is the path of the common file, not a corner: phantoms, a plain CT, and the
    # golden dataset with its sequences, private groups and SR content tree.
    assert {"ct", "phantom 0", "phantom 1", "golden, no dummy sequence"} <= set(taken), taken
    # (The golden dataset in implicit VR has private sequences of undefined length, which
    # only pydicom's guess can read: it takes the pydicom path.)
    implicit = {"ct, implicit VR", "phantom 0, implicit VR", "CT_small.dcm, implicit VR"}
    assert implicit <= set(taken), taken
    assert len(taken) >= 50, taken


def test_damaged_files_are_refused_with_a_reason_or_answered_alike_by_both_paths(
    tmp_path, monkeypatch
):
    """Bytes flipped (and files cut short) in the headers of a plain CT, a phantom slice and
    the golden dataset: the pydicom path answers or refuses with a reason, never raises
    anything else (an upload would get a 500); the fast path never raises, and whatever it
    answers the pydicom path answers the same way."""
    import itertools
    import random

    from imaging import phantom
    from tests.imaging import dicom

    rng = random.Random(4)
    numbers = itertools.count(1)  # UIDs fixed too, so every run damages the same bytes
    for module in (phantom, dicom):
        monkeypatch.setattr(module, "generate_uid", lambda prefix=None: f"2.25.{next(numbers)}")
    sources = [
        ct_bytes(rows=8, columns=8),
        implicit_vr(ct_bytes(rows=8, columns=8)),
        phantom.write_phantom(tmp_path, slices=1, size=32, seed=9)[0].read_bytes(),
        written(without_dummy_sequences(golden_ct())),
    ]
    answered = refused = 0
    for source in sources:
        header_end = source.index(b"\xe0\x7f\x10\x00") + 12  # through the pixel data header
        for _ in range(200):
            damaged = bytearray(source)
            for _ in range(rng.randint(1, 3)):
                damaged[rng.randrange(128, header_end)] = rng.randrange(256)
            if rng.random() < 0.1:
                damaged = damaged[: rng.randrange(132, len(damaged))]
            damaged = bytes(damaged)
            expected = slow(damaged, monkeypatch)  # raises if the pydicom path crashes
            refused += expected is None
            fast = fastpath.prepare_fast(damaged, LIMITS, CTX)
            if fast is None:
                continue
            answered += 1
            assert expected is not None
            assert (fast.stored, fast.instance, fast.study, fast.series) == (
                expected.stored,
                expected.instance,
                expected.study,
                expected.series,
            )
    assert answered > 0 and refused > 0  # the damage both spares files and breaks them
