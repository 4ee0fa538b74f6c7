"""The synthetic CT phantom: valid files, the anatomy where it should be, seeded noise."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.core.management import CommandError, call_command
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from imaging import phantom
from imaging.phantom import expected_hu, phantom_series, write_phantom

SLICES, SIZE = 16, 64
SIGMA = phantom.NOISE_SIGMA_HU


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> list[Path]:
    return write_phantom(tmp_path_factory.mktemp("phantom"), slices=SLICES, size=SIZE)


@pytest.fixture(scope="module")
def datasets(paths) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(path) for path in paths]


def hu(ds: pydicom.Dataset) -> np.ndarray:
    return ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


def pixel_at(ds: pydicom.Dataset, x: float, y: float) -> tuple[int, int]:
    """Row and column of the pixel nearest patient point (x, y) mm, from the header alone."""
    row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
    x0, y0 = float(ds.ImagePositionPatient[0]), float(ds.ImagePositionPatient[1])
    return round((y - y0) / row_spacing), round((x - x0) / col_spacing)


def test_files_parse_without_force_as_ct_image_storage(paths):
    for path in paths:
        assert path.read_bytes()[128:132] == b"DICM"
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.SOPClassUID == ds.file_meta.MediaStorageSOPClassUID == CTImageStorage
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
    assert [path.name for path in paths] == [f"IM{n:04d}.dcm" for n in range(1, SLICES + 1)]


def test_headers_carry_what_the_ct_image_iod_requires(datasets):
    first = datasets[0]
    for keyword in [
        "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
        "StudyDate", "StudyTime", "AccessionNumber", "SeriesInstanceUID", "SeriesDate",
        "SeriesTime", "ContentDate", "ContentTime", "FrameOfReferenceUID", "Manufacturer",
        "BodyPartExamined", "KVP", "AcquisitionNumber", "ImagePositionPatient",
        "ImageOrientationPatient", "SliceLocation",
    ]:  # fmt: skip
        assert first.get(keyword) not in (None, ""), keyword
    assert first.Modality == "CT"
    assert first.PatientName == "PHANTOM^CT"
    assert first.Manufacturer == "Consilium Phantom"
    assert first.StudyDescription == "CT CHEST ABDOMEN PELVIS PHANTOM"
    assert first.SeriesDescription == "Soft tissue 1.25 mm"
    assert list(first.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert (first.Rows, first.Columns, first.SamplesPerPixel) == (SIZE, SIZE, 1)
    assert (first.BitsAllocated, first.BitsStored, first.HighBit) == (16, 12, 11)
    assert (first.PixelRepresentation, first.RescaleIntercept, first.RescaleSlope) == (0, -1024, 1)
    assert first.PhotometricInterpretation == "MONOCHROME2"
    assert list(first.WindowCenter) == [40, -600]
    assert list(first.WindowWidth) == [400, 1500]
    assert len(first.WindowCenterWidthExplanation) == 2
    # The field of view stays that of 0.7 mm pixels at 512, whatever the matrix.
    assert float(first.PixelSpacing[0]) * SIZE == pytest.approx(0.7 * 512)
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == SLICES


def test_positions_step_by_the_thickness_along_the_slice_normal(datasets):
    orientation = [float(v) for v in datasets[0].ImageOrientationPatient]
    normal = np.cross(orientation[:3], orientation[3:])
    by_number = sorted(datasets, key=lambda ds: ds.InstanceNumber)
    along = [float(np.dot(normal, [float(v) for v in ds.ImagePositionPatient])) for ds in by_number]
    assert [ds.InstanceNumber for ds in by_number] == list(range(1, SLICES + 1))
    assert np.allclose(np.diff(along), -1.25)
    assert [float(ds.SliceLocation) for ds in by_number] == pytest.approx(along)


@pytest.mark.parametrize(
    ("what", "index", "x", "y", "value"),
    [
        ("air in a corner", 0, -175.0, -175.0, phantom.AIR_HU),
        ("cancellous bone of the vertebra", 8, 0.0, 70.0, phantom.CANCELLOUS_BONE_HU),
        ("right lung, upper half", 4, -75.0, 0.0, phantom.LUNG_HU),
        ("left lung, upper half", 4, 75.0, 0.0, phantom.LUNG_HU),
        ("no lung in the lower half", 12, 75.0, 0.0, phantom.SOFT_TISSUE_HU),
        ("liver on the patient's right", 10, -70.0, -10.0, phantom.LIVER_HU),
        ("no liver on the patient's left", 10, 70.0, -10.0, phantom.SOFT_TISSUE_HU),
        ("enhanced aorta in front of the spine", 7, 13.0, 37.0, phantom.AORTA_CONTRAST_HU),
        ("paraspinal tumour", 8, -50.0, 88.0, phantom.TUMOUR_HU),
    ],
)
def test_anatomy_is_where_the_model_says(datasets, what, index, x, y, value):
    ds = datasets[index]
    row, col = pixel_at(ds, x, y)
    assert expected_hu(index, row, col, slices=SLICES, size=SIZE) == value, what
    assert abs(hu(ds)[row, col] - value) < 4 * SIGMA, what


def test_pixels_are_the_model_plus_sigma_8_noise(datasets):
    index = SLICES // 2
    model = np.array(
        [
            [expected_hu(index, row, col, slices=SLICES, size=SIZE) for col in range(SIZE)]
            for row in range(SIZE)
        ]
    )
    residual = hu(datasets[index]) - model
    assert abs(residual.mean()) < 0.5
    assert residual.std() == pytest.approx(SIGMA, rel=0.1)


def test_same_seed_gives_the_same_pixels_and_another_seed_other_noise():
    def pixels(seed: int) -> list[bytes]:
        return [ds.PixelData for ds in phantom_series(slices=3, size=SIZE, seed=seed)]

    first, again, other = pixels(7), pixels(7), pixels(8)
    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))
    # Only the noise differs: two independent draws differ by sigma times the square root of 2.
    difference = np.frombuffer(first[1], "<u2").astype(float) - np.frombuffer(other[1], "<u2")
    assert difference.std() == pytest.approx(SIGMA * np.sqrt(2), rel=0.1)


def test_uids_and_tags_can_be_given():
    ds = next(
        phantom_series(
            slices=2,
            size=32,
            study_uid="2.25.1",
            series_uid="2.25.2",
            patient_id="X-1",
            modality_tags={"KVP": 100, "ConvolutionKernel": "B30f"},
            contrast=False,
        )
    )
    assert (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.PatientID) == ("2.25.1", "2.25.2", "X-1")
    assert (ds.KVP, ds.ConvolutionKernel) == (100, "B30f")
    assert "ContrastBolusAgent" not in ds
    with pytest.raises(ValueError, match="NotAKeyword"):
        next(phantom_series(slices=1, size=32, modality_tags={"NotAKeyword": 1}))


def test_contrast_changes_only_the_aorta():
    def slice_model(contrast: bool) -> np.ndarray:
        return np.array(
            [
                [
                    expected_hu(7, row, col, slices=SLICES, size=SIZE, contrast=contrast)
                    for col in range(SIZE)
                ]
                for row in range(SIZE)
            ]
        )

    enhanced, plain = slice_model(True), slice_model(False)
    changed = enhanced != plain
    assert changed.sum() > 3
    assert set(enhanced[changed]) == {phantom.AORTA_CONTRAST_HU}
    assert set(plain[changed]) == {phantom.AORTA_HU}


def test_shuffled_names_do_not_follow_instance_number(tmp_path):
    paths = write_phantom(tmp_path, slices=8, size=32, shuffle_names=True)
    numbers = [pydicom.dcmread(path, stop_before_pixels=True).InstanceNumber for path in paths]
    by_name = [
        pydicom.dcmread(path, stop_before_pixels=True).InstanceNumber
        for path in sorted(tmp_path.iterdir())
    ]
    assert numbers == list(range(1, 9))
    assert by_name != numbers
    assert sorted(path.name for path in paths) == [f"IM{n:04d}.dcm" for n in range(1, 9)]


def test_dciodvfy_finds_no_error(paths):
    dciodvfy = shutil.which("dciodvfy")
    if dciodvfy is None:
        pytest.skip("dciodvfy is not on PATH (Debian package dicom3tools)")
    result = subprocess.run(
        [dciodvfy, str(paths[SLICES // 2])], capture_output=True, text=True, timeout=30
    )
    report = result.stdout + result.stderr
    assert "CTImage" in report  # it recognised the IOD it checked against
    assert not [line for line in report.splitlines() if line.startswith("Error")], report


def test_make_phantom_writes_the_series_and_a_zip(tmp_path):
    out = io.StringIO()
    call_command(
        "make_phantom", "--slices", "4", "--size", "32", "--zip", tmp_path / "ct", stdout=out
    )
    names = [f"IM{n:04d}.dcm" for n in range(1, 5)]
    assert sorted(path.name for path in (tmp_path / "ct").iterdir()) == names
    with zipfile.ZipFile(tmp_path / "ct.zip") as bundle:
        assert sorted(bundle.namelist()) == names
        ds = pydicom.dcmread(io.BytesIO(bundle.read("IM0001.dcm")))
    assert f"Wrote 4 CT slices of 32x32 to {tmp_path / 'ct'}" in out.getvalue()
    assert ds.StudyInstanceUID in out.getvalue()
    assert str(tmp_path / "ct.zip") in out.getvalue()


def test_make_phantom_refuses_a_tiny_matrix(tmp_path):
    with pytest.raises(CommandError, match="size must be at least 16"):
        call_command("make_phantom", "--size", "8", tmp_path / "ct", stdout=io.StringIO())
