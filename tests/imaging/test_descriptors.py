"""PS3.15 Clean Descriptors Option: descriptions kept once identifying words are removed."""

from __future__ import annotations

import dataclasses
import shutil

import pydicom
import pytest

from imaging import deid, fastpath, prepare
from imaging.deid import clean_descriptor, identifying_words
from imaging.ingest import ingest_file
from imaging.models import Series, Study
from tests.cases.factories import HOSPITAL_NUMBER, PATIENT_NAME
from tests.imaging.dicom import PATIENT_ID, ct_dataset, to_bytes

WORDS = identifying_words("Hans Müller", "KH-20240115")


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("T1 COR", "T1 COR"),
        ("STIR AX", "STIR AX"),
        ("T2 FS SAG", "T2 FS SAG"),
        ("PET-CT Ganzkörper", "PET-CT Ganzkörper"),
        ("MRT Oberschenkel re Müller", "MRT Oberschenkel re"),
        ("MRT OBERSCHENKEL RE MÜLLER HANS", "MRT OBERSCHENKEL RE"),
        ("CT Thorax 2024-01-15", "CT Thorax"),
        ("CT Thorax vom 15.01.2024", "CT Thorax vom"),
        ("MRI thigh 15 Jan 2024", "MRI thigh"),
        ("CT Abdomen KH-20240115", "CT Abdomen"),
        ("Acc 88123456 T1 AX", "Acc T1 AX"),
        ("Müller", ""),
    ],
)
def test_cleaning_keeps_the_technique_and_drops_what_identifies(text, cleaned):
    assert clean_descriptor(text, WORDS) == cleaned


def test_words_are_removed_whole_not_inside_other_words():
    # "Ax" as a surname must not eat "AXIAL"; a name part inside a word stays.
    assert clean_descriptor("AXIAL T1 Ax", identifying_words("Ax")) == "AXIAL T1"


def test_identifying_words_split_dicom_person_names():
    assert identifying_words("MUELLER^HANS^^DR") == ("MUELLER", "HANS", "DR")


def ctx(clean: bool) -> deid.DeidContext:
    return deid.DeidContext(
        secret=b"k" * 32,
        case_key="ab" * 16,
        pseudonym="CNS-TEST",
        clean_descriptors=clean,
        identifying_words=identifying_words(PATIENT_NAME, HOSPITAL_NUMBER),
    )


def named_dataset():
    ds = ct_dataset()
    ds.StudyDescription = "MRT Oberschenkel re Quixote 05.01.2026"
    ds.SeriesDescription = f"STIR AX {PATIENT_ID} Zebediah"
    return ds


def codes(ds) -> list[str]:
    return [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]


def test_deidentify_cleans_descriptions_and_says_so():
    ds = deid.deidentify(named_dataset(), ctx(True))
    # Quixote is the file's PatientName, Zebediah the case identity, HOSP-4455661 its ID.
    assert ds.StudyDescription == "MRT Oberschenkel re"
    assert ds.SeriesDescription == "STIR AX"
    assert "113105" in codes(ds)
    assert "Clean Descriptors Option" in list(ds.DeidentificationMethod)


def test_without_the_option_descriptions_are_removed_and_no_code_claims_it():
    ds = deid.deidentify(named_dataset(), ctx(False))
    assert "StudyDescription" not in ds
    assert "SeriesDescription" not in ds
    assert codes(ds) == ["113100", "113107"]


def test_fast_path_and_pydicom_path_clean_alike(monkeypatch):
    data = to_bytes(named_dataset())
    fast = fastpath.prepare_fast(data, prepare.Limits(2**30, 2**30, 10_000), ctx(True))
    assert fast is not None
    monkeypatch.setattr(prepare, "FAST_PATH", False)
    slow = prepare.prepare(data, prepare.Limits(2**30, 2**30, 10_000), ctx(True))
    assert fast.stored == slow.stored
    assert fast.study["description"] == "MRT Oberschenkel re"
    assert fast.series["description"] == "STIR AX"


def test_non_ascii_descriptions_are_cleaned_on_the_pydicom_path():
    ds = named_dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SeriesDescription = "T1 COR Quarrington Müller"
    cleaning = dataclasses.replace(ctx(True), identifying_words=("Müller", "Quarrington"))
    out = deid.deidentify(ds, cleaning)
    assert out.SeriesDescription == "T1 COR"


# --- ingest, with the board's setting -------------------------------------------------------


@pytest.mark.django_db
def test_ingest_keeps_cleaned_descriptions_when_the_board_keeps_them(case):
    assert case.board.keep_clean_descriptors is True  # the default
    result = ingest_file(case=case, by=None, data=to_bytes(named_dataset()), name="a.dcm")
    assert result.status == "stored", result.reason
    assert Study.objects.get().description == "MRT Oberschenkel re"
    assert Series.objects.get().description == "STIR AX"
    with result.instance.file.open("rb") as fh:
        raw = fh.read()
    for secret in (b"Quixote", b"Zebediah", PATIENT_ID.encode(), b"05.01.2026"):
        assert secret not in raw
    with result.instance.file.open("rb") as fh:
        assert "113105" in codes(pydicom.dcmread(fh))


@pytest.mark.django_db
def test_ingest_removes_descriptions_when_the_board_turns_the_option_off(case):
    case.board.keep_clean_descriptors = False
    case.board.save()
    result = ingest_file(case=case, by=None, data=to_bytes(named_dataset()), name="a.dcm")
    assert result.status == "stored", result.reason
    assert Study.objects.get().description == ""
    assert Series.objects.get().description == ""
    with result.instance.file.open("rb") as fh:
        stored = pydicom.dcmread(fh)
    assert "SeriesDescription" not in stored
    assert "113105" not in codes(stored)


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) absent")
def test_dciodvfy_finds_no_new_error_with_cleaned_descriptors(tmp_path):
    from tests.imaging.test_deid import dciodvfy_errors

    before, after = tmp_path / "in.dcm", tmp_path / "out.dcm"
    named_dataset().save_as(before, enforce_file_format=True)
    deid.deidentify(named_dataset(), ctx(True)).save_as(after, enforce_file_format=True)
    assert dciodvfy_errors(after) - dciodvfy_errors(before) == set()


def test_a_descriptor_inside_a_dummy_sequence_becomes_a_dummy_not_a_cleaned_text():
    ds = named_dataset()
    item = pydicom.Dataset()
    item.SeriesDescription = "T1 COR"
    ds.ContentSequence = [item]  # PS3.15 Table E.1-1: D, so its texts become dummies
    out = deid.deidentify(ds, ctx(True))
    assert out.ContentSequence[0].SeriesDescription == "ANONYMIZED"
