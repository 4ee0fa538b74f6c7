"""De-identification: PS3.15 Annex E Basic Profile with the Modified Dates Option.

The golden dataset is a CT whose every identifying value carries the word MARKER (or is a UID
or date listed here), so "nothing identifying survives" can be checked by searching for them.
"""

from __future__ import annotations

import datetime
import io
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_files
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from imaging import annex_e
from imaging.deid import (
    IMPLEMENTATION_CLASS_UID,
    DeidContext,
    burned_in_risk,
    date_shift_days,
    deid_uid,
    deidentify,
)
from imaging.prepare import Limits, prepare
from tests.imaging.golden import DATES, TIMES, UIDS, UNKNOWN_PUBLIC_TAG, golden_ct, written

ROOT = Path(__file__).resolve().parents[2]
CTX = DeidContext(
    secret=b"test-installation-secret",
    case_key="0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    pseudonym="CASE-7Q2X",
)
VIEWER_ATTRIBUTES = [
    "Rows",
    "Columns",
    "PixelSpacing",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "SliceThickness",
    "WindowCenter",
    "WindowWidth",
    "RescaleIntercept",
    "RescaleSlope",
    "PhotometricInterpretation",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "SamplesPerPixel",
    "Modality",
    "BodyPartExamined",
    "BurnedInAnnotation",
    "Manufacturer",
]


LIMITS = Limits(file_bytes=2**30, decoded_bytes=2**30, frames=5000)


def all_elements(ds: Dataset):
    for elem in ds:
        yield elem
        if elem.VR == "SQ":
            for item in elem.value:
                yield from all_elements(item)


@pytest.fixture
def original() -> Dataset:
    return golden_ct()


@pytest.fixture(params=["built", "read", "stored"])
def result(request) -> Dataset:
    """The golden dataset de-identified three ways: as built in memory; as read from a file
    (elements still unparsed, which de-identification keeps or drops without parsing); and
    as Consilium stores it (`prepare`, which also writes kept elements by copying them)."""
    if request.param == "built":
        return deidentify(golden_ct(), CTX)
    data = written(golden_ct())
    if request.param == "read":
        return deidentify(pydicom.dcmread(io.BytesIO(data)), CTX)
    stored = prepare(data, LIMITS, CTX).stored
    return pydicom.dcmread(io.BytesIO(stored))


def test_no_identifying_value_survives_in_memory_or_on_disk(result):
    for elem in [*result.file_meta, *all_elements(result)]:
        assert "MARKER" not in repr(elem.value), elem
        row = annex_e.ACTIONS.get(int(elem.tag))
        removed = row is not None and row[1] == "X" and row[2] is None
        assert not removed, f"{elem.keyword} is X in Table E.1-1 but survived"

    data = written(result)
    assert b"MARKER" not in data
    for name, uid in UIDS.items():
        assert uid.encode() not in data, f"original {name} UID survived"


def test_the_golden_dataset_really_carries_what_must_go(original):
    data = written(original)
    assert b"MARKER" in data
    assert all(uid.encode() in data for uid in UIDS.values())


def test_no_private_tags_remain_at_any_depth(original, result):
    assert any(elem.tag.is_private for elem in all_elements(original))
    for elem in [*result.file_meta, *all_elements(result)]:
        assert elem.tag.group % 2 == 0, elem
    assert UNKNOWN_PUBLIC_TAG not in result
    assert not any(elem.tag.group == 0x6000 for elem in result)


def test_uids_are_replaced_by_keyed_hashes_and_classes_are_kept(result):
    assert result.StudyInstanceUID == deid_uid(UIDS["study"], CTX)
    assert result.SeriesInstanceUID == deid_uid(UIDS["series"], CTX)
    assert result.SOPInstanceUID == deid_uid(UIDS["instance"], CTX)
    assert result.FrameOfReferenceUID == deid_uid(UIDS["frame_of_reference"], CTX)
    assert result.SOPInstanceUIDOfConcatenationSource == deid_uid(UIDS["concatenation_source"], CTX)
    reference = result.ReferencedImageSequence[0]
    assert reference.ReferencedSOPInstanceUID == deid_uid(UIDS["referenced_image"], CTX)
    assert reference.ReferencedSOPClassUID == CTImageStorage
    assert result.SOPClassUID == CTImageStorage
    assert result.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    for uid in (result.StudyInstanceUID, result.SOPInstanceUID):
        assert len(uid) <= 64
        assert re.fullmatch(r"2\.25\.(0|[1-9][0-9]*)", uid)


def test_a_second_copy_gets_identical_uids(result):
    again = deidentify(golden_ct(), CTX)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        assert again[keyword].value == result[keyword].value
    assert written(again) == written(result)


def test_uid_is_the_same_in_another_process():
    script = (
        "import sys\n"
        "from imaging.deid import DeidContext, deid_uid\n"
        "ctx = DeidContext(secret=bytes.fromhex(sys.argv[1]), case_key=sys.argv[2],"
        " pseudonym='P')\n"
        "print(deid_uid(sys.argv[3], ctx))\n"
        "print('django' in sys.modules)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    completed = subprocess.run(
        [sys.executable, "-c", script, CTX.secret.hex(), CTX.case_key, UIDS["study"]],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    uid, django_loaded = completed.stdout.split()
    assert uid == deid_uid(UIDS["study"], CTX)
    assert django_loaded == "False"


def test_another_case_gets_other_uids():
    other = DeidContext(
        secret=CTX.secret, case_key="ffffffffffffffffffffffffffffffff", pseudonym="P"
    )
    assert deid_uid(UIDS["study"], other) != deid_uid(UIDS["study"], CTX)
    assert deidentify(golden_ct(), other).StudyInstanceUID != deid_uid(UIDS["study"], CTX)
    other_secret = DeidContext(secret=b"another installation", case_key=CTX.case_key, pseudonym="P")
    assert deid_uid(UIDS["study"], other_secret) != deid_uid(UIDS["study"], CTX)


def test_date_shift_is_a_stable_number_of_days_back():
    shifts = {date_shift_days(DeidContext(b"s", f"case-{n}", "P")) for n in range(200)}
    assert all(-365 <= shift <= -30 for shift in shifts)
    assert len(shifts) > 50  # spread over the range, not a constant
    assert date_shift_days(CTX) == date_shift_days(DeidContext(CTX.secret, CTX.case_key, "Q"))


def test_dates_move_by_one_offset_and_times_stay(result):
    shift = datetime.timedelta(days=date_shift_days(CTX))
    for keyword, value in DATES.items():
        expected = datetime.datetime.strptime(value, "%Y%m%d").date() + shift
        assert result[keyword].value == expected.strftime("%Y%m%d"), keyword
    for keyword, value in TIMES.items():
        assert result[keyword].value == value, keyword
    shifted_day = (datetime.date(2024, 1, 16) + shift).strftime("%Y%m%d")
    assert result.AcquisitionDateTime == shifted_day + "083500.250000+0100"
    observed = result.ContentSequence  # the SR-like tree is kept, its names are not
    assert observed[1].PersonName == "ANONYMIZED"
    assert observed[0].TextValue == "ANONYMIZED"


def test_interval_between_studies_is_preserved():
    first, second = golden_ct(), golden_ct()
    second.StudyDate = "20240420"
    deidentify(first, CTX)
    deidentify(second, CTX)

    def day(value: str) -> datetime.date:
        return datetime.datetime.strptime(value, "%Y%m%d").date()

    assert (day(second.StudyDate) - day(first.StudyDate)).days == 96
    assert first.StudyDate != "20240115"


def test_patient_becomes_the_pseudonym_and_the_method_is_recorded(result):
    assert result.PatientName == CTX.pseudonym
    assert result.PatientID == CTX.pseudonym
    assert result.PatientIdentityRemoved == "YES"
    assert result.LongitudinalTemporalInformationModified == "MODIFIED"
    assert "Annex E" in result.DeidentificationMethod[0]
    codes = {
        (item.CodeValue, item.CodingSchemeDesignator)
        for item in result.DeidentificationMethodCodeSequence
    }
    assert codes == {("113100", "DCM"), ("113107", "DCM")}
    assert all(item.CodeMeaning for item in result.DeidentificationMethodCodeSequence)
    # Z in Table E.1-1 and not retained by the option: present but empty.
    assert result["PatientBirthDate"].is_empty
    assert result["PatientSex"].is_empty
    assert result["AccessionNumber"].is_empty
    # X: Patient's Age is kept only by the Retain Patient Characteristics Option.
    for keyword in ("PatientAge", "PatientWeight", "OtherPatientIDsSequence", "IssuerOfPatientID"):
        assert keyword not in result


def test_combined_actions_resolve_as_documented(result):
    assert result.DeviceSerialNumber == "ANONYMIZED"  # X/Z/D, Type 1 in enhanced IODs
    for keyword in ("InstitutionName", "StationName", "OperatorsName", "ProtocolName"):
        assert keyword not in result  # X/Z/D or X/D: removed
    assert "RequestAttributesSequence" not in result  # X
    assert len(result.ReferencedImageSequence) == 1  # X/Z/U*: kept, UIDs replaced
    assert result.ReferencedImageSequence[0].PersonName == "ANONYMIZED"  # D inside it
    assert result.EvaluatorName == "ANONYMIZED"  # PN outside the table


def test_viewer_attributes_and_pixels_are_kept(original, result):
    for keyword in VIEWER_ATTRIBUTES:
        assert result[keyword].value == original[keyword].value, keyword
    assert result.PixelData == original.PixelData
    # X in Table E.1-1 (C only under the Clean Descriptors Option): removed.
    assert "StudyDescription" not in result
    assert "SeriesDescription" not in result


def test_file_meta_agrees_and_the_file_reads_back_without_force(result, tmp_path):
    meta = result.file_meta
    assert meta.MediaStorageSOPInstanceUID == result.SOPInstanceUID
    assert meta.MediaStorageSOPClassUID == result.SOPClassUID
    assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert meta.ImplementationVersionName == "CONSILIUM_1"
    assert "SourceApplicationEntityTitle" not in meta

    path = tmp_path / "out.dcm"
    result.save_as(path, enforce_file_format=True)
    assert path.read_bytes()[:128] == b"\x00" * 128
    reread = pydicom.dcmread(path)
    assert reread.SOPInstanceUID == result.SOPInstanceUID
    assert reread.file_meta.MediaStorageSOPInstanceUID == result.SOPInstanceUID
    assert reread.PatientName == CTX.pseudonym
    assert np.array_equal(reread.pixel_array, np.arange(16, dtype=np.uint16).reshape(4, 4))


def dciodvfy_errors(path: Path) -> set[str]:
    completed = subprocess.run(
        ["dciodvfy", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    lines = (completed.stdout + completed.stderr).splitlines()
    return {line.strip() for line in lines if line.strip().startswith("Error")}


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) absent")
def test_dciodvfy_finds_no_error_that_the_input_did_not_have(original, result, tmp_path):
    """dicom3tools' IOD checker is the independent referee for conformance.

    The synthetic input is not a perfect CT (it carries an SR content tree and an unknown
    attribute on purpose), so the check is relative: de-identification may fix errors but must
    not add any, e.g. by emptying a Type 1 attribute or removing a required one.
    """
    before, after = tmp_path / "in.dcm", tmp_path / "out.dcm"
    original.save_as(before, enforce_file_format=True)
    result.save_as(after, enforce_file_format=True)
    assert dciodvfy_errors(after) - dciodvfy_errors(before) == set()


def test_burned_in_risk_flags_ultrasound_and_declared_annotation(original):
    assert burned_in_risk(original) is False
    ultrasound = golden_ct()
    ultrasound.Modality = "US"
    assert burned_in_risk(ultrasound) is True
    declared = golden_ct()
    declared.BurnedInAnnotation = "YES"
    assert burned_in_risk(declared) is True
    assert burned_in_risk(deidentify(declared, CTX)) is True  # the profile keeps the flag


def test_odd_input_is_dropped_rather_than_raised():
    ds = golden_ct()
    for keyword in ("StudyDate", "SeriesDate", "InstanceCreationDate", "StudyTime", "KVP"):
        del ds[keyword]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the invalid values
        ds.add(DataElement(0x00080020, "UN", b"20240115"))  # Study Date sent as UN: decoded
        ds.add(DataElement(0x00080021, "LO", "MARKER-SERIES-DATE"))  # wrong VR
        ds.add(DataElement(0x00080012, "DA", "2024-01-15"))  # not in DA form
        ds.add(DataElement(0x00080030, "TM", "MARKER"))  # not a time
        ds.add(DataElement(0x00180060, "UT", "120"))  # KVP with a wrong VR, outside the table
        deidentify(ds, CTX)
        data = written(ds)
    shifted = datetime.date(2024, 1, 15) + datetime.timedelta(days=date_shift_days(CTX))
    assert ds.StudyDate == shifted.strftime("%Y%m%d")
    assert "SeriesDate" not in ds
    assert ds["InstanceCreationDate"].is_empty
    assert ds["StudyTime"].is_empty
    assert ds.KVP == "120"
    assert b"MARKER" not in data


def test_pseudonym_must_fit_patient_id():
    with pytest.raises(ValueError, match="pseudonym"):
        DeidContext(secret=b"s", case_key="k", pseudonym="A\\B")
    with pytest.raises(ValueError, match="pseudonym"):
        DeidContext(secret=b"s", case_key="k", pseudonym="x" * 65)


def read_without_force(path: str) -> Dataset | None:
    try:
        return pydicom.dcmread(path)
    except Exception:
        return None


def test_every_pydicom_test_file_deidentifies_without_private_tags():
    processed, failures = 0, []
    for path in get_testdata_files():
        if not os.path.isfile(path):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom's test files are odd on purpose
            ds = read_without_force(path)
            if ds is None:
                continue  # not DICOM, or needs force: refused at ingest anyway
            try:
                deidentify(ds, CTX)
            except Exception as exc:
                failures.append(f"{Path(path).name}: {exc!r}")
                continue
        processed += 1
        private = [str(elem.tag) for elem in all_elements(ds) if elem.tag.group % 2]
        if private:
            failures.append(f"{Path(path).name}: private {private[:3]}")
        if ds.PatientIdentityRemoved != "YES" or ds.PatientName != CTX.pseudonym:
            failures.append(f"{Path(path).name}: identity not replaced")
    assert failures == []
    assert processed > 100
