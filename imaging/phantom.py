"""A synthetic CT chest-abdomen-pelvis series for tests, the viewer and benchmarks.

The anatomy is a handful of ellipses in patient coordinates (LPS, millimetres): a body
with a subcutaneous fat layer, two lungs in the upper half of the slices, a liver on the
patient's right in the lower half, a vertebra with a cortical rim, an aorta in front of
it and a paraspinal soft-tissue sarcoma. Organs grow and shrink with the fraction of the
series a slice lies at, so any slice count scrolls like a real scan; the tumour is a true
sphere in millimetres. Gaussian noise is seeded, so a seed always gives the same pixels.

Files follow the CT Image IOD as a scanner writes it: unsigned 12-bit pixels with a
rescale intercept of -1024, explicit VR little endian, a 128-byte preamble.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

# 0.7 mm pixels at 512: a typical adult body field of view. Other sizes keep the field.
FIELD_OF_VIEW_MM = 358.4
NOISE_SIGMA_HU = 8.0
RESCALE_INTERCEPT = -1024
MAX_STORED = 2**12 - 1

AIR_HU = -1000.0
FAT_HU = -100.0
SOFT_TISSUE_HU = 40.0
LUNG_HU = -850.0
LIVER_HU = 60.0
AORTA_HU = 45.0
AORTA_CONTRAST_HU = 200.0
CORTICAL_BONE_HU = 700.0
CANCELLOUS_BONE_HU = 250.0
TUMOUR_HU = 35.0

FAT_LAYER_MM = 12.0
TUMOUR_RADIUS_MM = 30.0
# Paraspinal, on the patient's right, half in the muscle and half in the subcutaneous fat:
# at 35 HU it would vanish inside 40 HU muscle, so it shows where it meets the fat and
# bulges the skin, as a palpable back mass does.
TUMOUR_CENTRE_MM = (-50.0, 88.0)
TUMOUR_COVER_MM = 5.0
# The tumour centre as a fraction of the series, just below the lung bases.
TUMOUR_LEVEL = 0.55

IMPLEMENTATION_CLASS_UID = "2.25.114496095925024858521225416986220165705"
IMPLEMENTATION_VERSION_NAME = "CONSILIUM_PH_1"
# A fixed acquisition moment keeps every header field but the UIDs reproducible.
ACQUIRED_AT = datetime.datetime(2024, 1, 15, 9, 30, 0)
SECONDS_PER_SLICE = 0.25


def phantom_series(
    *,
    slices: int = 200,
    size: int = 512,
    seed: int = 7,
    patient_name: str = "PHANTOM^CT",
    patient_id: str = "PH-0001",
    study_uid: str | None = None,
    series_uid: str | None = None,
    slice_thickness: float = 1.25,
    modality_tags: dict[str, Any] | None = None,
    contrast: bool = True,
) -> Iterator[FileDataset]:
    """Yield one CT slice per dataset, head first: InstanceNumber 1 is the most superior.

    ``modality_tags`` maps DICOM keywords to values that override or extend every
    header (``{"KVP": 100, "ConvolutionKernel": "B30f"}``). ``contrast`` enhances the
    aorta and records the contrast agent.
    """
    _check_arguments(slices=slices, size=size, slice_thickness=slice_thickness)
    extra = dict(modality_tags or {})
    unknown = [keyword for keyword in extra if tag_for_keyword(keyword) is None]
    if unknown:
        raise ValueError(f"modality_tags has unknown DICOM keywords: {', '.join(unknown)}")

    study_uid = study_uid or generate_uid(prefix=None)
    series_uid = series_uid or generate_uid(prefix=None)
    header = _series_header(
        seed=seed,
        patient_name=patient_name,
        patient_id=patient_id,
        study_uid=study_uid,
        series_uid=series_uid,
        frame_uid=generate_uid(prefix=None),
        size=size,
        slice_thickness=slice_thickness,
        contrast=contrast,
    )
    spacing, origin = _pixel_spacing(size), _first_pixel(size)
    x = (origin + spacing * np.arange(size))[np.newaxis, :]
    y = (origin + spacing * np.arange(size))[:, np.newaxis]
    rng = np.random.default_rng(seed)

    for index in range(slices):
        hu = _hu_model(
            index, x, y, slices=slices, slice_thickness=slice_thickness, contrast=contrast
        )
        hu += rng.standard_normal((size, size), dtype=np.float32) * np.float32(NOISE_SIGMA_HU)
        stored = np.clip(np.rint(hu) - RESCALE_INTERCEPT, 0, MAX_STORED).astype("<u2")

        ds = _file_dataset(sop_uid=generate_uid(prefix=None))
        for keyword, value in header.items():
            setattr(ds, keyword, value)
        z = _slice_z(index, slices=slices, slice_thickness=slice_thickness)
        moment = ACQUIRED_AT + datetime.timedelta(seconds=index * SECONDS_PER_SLICE)
        ds.InstanceNumber = index + 1
        ds.ImagePositionPatient = [origin, origin, z]
        ds.SliceLocation = z
        ds.AcquisitionDate = ds.ContentDate = f"{moment:%Y%m%d}"
        ds.AcquisitionTime = ds.ContentTime = f"{moment:%H%M%S.%f}"
        ds.add_new("PixelData", "OW", stored.tobytes())
        for keyword, value in extra.items():
            setattr(ds, keyword, value)
        yield ds


def write_phantom(out_dir: Path, *, shuffle_names: bool = False, **kwargs: Any) -> list[Path]:
    """Write ``IM0001.dcm``… into ``out_dir``; return the paths in spatial order.

    With ``shuffle_names`` the names follow a seeded permutation instead of
    InstanceNumber, which catches code that orders slices by file name.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    slices = kwargs.get("slices", 200)
    numbers = np.arange(1, slices + 1)
    if shuffle_names and slices > 1:
        numbers = np.random.default_rng(kwargs.get("seed", 7)).permutation(numbers)
        if np.all(numbers == np.arange(1, slices + 1)):
            numbers = np.roll(numbers, 1)
    paths = []
    for number, ds in zip(numbers, phantom_series(**kwargs), strict=True):
        path = out_dir / f"IM{number:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def expected_hu(
    slice_index: int,
    row: int,
    col: int,
    *,
    slices: int,
    size: int,
    slice_thickness: float = 1.25,
    contrast: bool = True,
) -> float:
    """The noiseless value in HU that ``phantom_series`` draws at this pixel."""
    _check_arguments(slices=slices, size=size, slice_thickness=slice_thickness)
    spacing, origin = _pixel_spacing(size), _first_pixel(size)
    x = np.array([origin + spacing * col])
    y = np.array([origin + spacing * row])
    hu = _hu_model(
        slice_index, x, y, slices=slices, slice_thickness=slice_thickness, contrast=contrast
    )
    return float(hu[0])


def _check_arguments(*, slices: int, size: int, slice_thickness: float) -> None:
    if slices < 1:
        raise ValueError(f"slices must be at least 1, not {slices}")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, not {size}")
    if not slice_thickness > 0:
        raise ValueError(f"slice_thickness must be positive, not {slice_thickness}")


# Geometry is rounded to what the header can say exactly (DS holds 16 characters), and
# the model samples at those very positions, so the header describes the pixels.
def _pixel_spacing(size: int) -> float:
    return round(FIELD_OF_VIEW_MM / size, 6)


def _first_pixel(size: int) -> float:
    """x and y of the first pixel's centre: the image is centred on the table axis."""
    return round(-(size - 1) / 2 * _pixel_spacing(size), 6)


def _slice_z(index: int, *, slices: int, slice_thickness: float) -> float:
    """Head first, so z (towards the head) falls as the instance number rises."""
    return round(((slices - 1) / 2 - index) * slice_thickness, 6)


def _hu_model(
    index: int,
    x: np.ndarray,
    y: np.ndarray,
    *,
    slices: int,
    slice_thickness: float,
    contrast: bool,
) -> np.ndarray:
    """HU of slice ``index`` at x (towards patient left) and y (towards posterior), in mm.

    ``x`` and ``y`` broadcast: a row and a column vector give the whole slice.
    """
    level = index / (slices - 1) if slices > 1 else 0.5
    bulge = math.sin(math.pi * level)
    hu = np.full(np.broadcast_shapes(x.shape, y.shape), AIR_HU, dtype=np.float32)

    # The chest is wide and shallow, the abdomen rounder.
    body_a, body_b = 160.0 - 10.0 * bulge, 110.0 + 8.0 * bulge
    hu[_ellipse(x, y, 0.0, 0.0, body_a, body_b)] = FAT_HU
    inner = _ellipse(x, y, 0.0, 0.0, body_a - FAT_LAYER_MM, body_b - FAT_LAYER_MM)
    hu[inner] = SOFT_TISSUE_HU

    if level < 0.5:
        # Small at the apices, widest in mid-chest, gone at the domes of the diaphragm.
        grow = math.sqrt(math.sin(math.pi * (0.05 + 0.95 * level / 0.5)))
        for side in (-1.0, 1.0):
            lung = _ellipse(x, y, side * 75.0, 0.0, 50.0 * grow, 70.0 * grow)
            hu[lung & inner] = LUNG_HU

    if 0.5 <= level < 0.85:
        # Patient right is negative x (image left): the liver lives there.
        grow = math.sqrt(math.sin(math.pi * (level - 0.5) / 0.35))
        hu[_ellipse(x, y, -70.0, -10.0, 75.0 * grow, 65.0 * grow) & inner] = LIVER_HU

    tumour_z = (index - TUMOUR_LEVEL * (slices - 1)) * slice_thickness
    if abs(tumour_z) < TUMOUR_RADIUS_MM:
        radius = math.sqrt(TUMOUR_RADIUS_MM**2 - tumour_z**2)
        cover = radius + TUMOUR_COVER_MM
        hu[_ellipse(x, y, *TUMOUR_CENTRE_MM, cover, cover) & (hu == AIR_HU)] = FAT_HU
        hu[_ellipse(x, y, *TUMOUR_CENTRE_MM, radius, radius)] = TUMOUR_HU

    # A gentle curve of the spine, and the aorta tapering as it runs down in front of it.
    spine_y = 70.0 + 4.0 * math.sin(2.0 * math.pi * level)
    aorta_r = 13.0 - 3.0 * level
    aorta = _ellipse(x, y, 18.0 - 10.0 * level, spine_y - 22.0 - aorta_r, aorta_r, aorta_r)
    hu[aorta] = AORTA_CONTRAST_HU if contrast else AORTA_HU
    hu[_ellipse(x, y, 0.0, spine_y, 18.0, 18.0)] = CORTICAL_BONE_HU
    hu[_ellipse(x, y, 0.0, spine_y, 15.0, 15.0)] = CANCELLOUS_BONE_HU
    hu[_ellipse(x, y, 0.0, spine_y + 24.0, 5.0, 9.0)] = CORTICAL_BONE_HU
    return hu


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, a: float, b: float) -> np.ndarray:
    shape = np.broadcast_shapes(x.shape, y.shape)
    if a <= 0 or b <= 0:
        return np.zeros(shape, dtype=bool)
    return np.broadcast_to(((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0, shape)


def _file_dataset(*, sop_uid: str) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    return ds


def _series_header(
    *,
    seed: int,
    patient_name: str,
    patient_id: str,
    study_uid: str,
    series_uid: str,
    frame_uid: str,
    size: int,
    slice_thickness: float,
    contrast: bool,
) -> dict[str, Any]:
    """Every attribute that is the same on all slices, by module of the CT Image IOD."""
    date, time = f"{ACQUIRED_AT:%Y%m%d}", f"{ACQUIRED_AT:%H%M%S}"
    spacing = _pixel_spacing(size)
    header: dict[str, Any] = {
        "SpecificCharacterSet": "ISO_IR 100",
        "InstanceCreationDate": date,
        "InstanceCreationTime": time,
        # Patient
        "PatientName": patient_name,
        "PatientID": patient_id,
        "PatientBirthDate": "19700101",
        "PatientSex": "O",
        # General Study
        "StudyInstanceUID": study_uid,
        "StudyDate": date,
        "StudyTime": time,
        "ReferringPhysicianName": "",
        "StudyID": "1",
        "AccessionNumber": f"PH{seed % 10**14:014d}",
        "StudyDescription": "CT CHEST ABDOMEN PELVIS PHANTOM",
        # General Series
        "Modality": "CT",
        "SeriesInstanceUID": series_uid,
        "SeriesNumber": 2,
        "SeriesDate": date,
        "SeriesTime": time,
        "SeriesDescription": f"Soft tissue {slice_thickness:g} mm",
        "BodyPartExamined": "CHESTABDPELVIS",
        "PatientPosition": "HFS",
        # Frame of Reference
        "FrameOfReferenceUID": frame_uid,
        "PositionReferenceIndicator": "",
        # General Equipment
        "Manufacturer": "Consilium Phantom",
        "ManufacturerModelName": "Synthetic CT",
        "SoftwareVersions": "1",
        # General Image and Image Plane
        "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"],
        "AcquisitionNumber": 1,
        "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
        "PixelSpacing": [spacing, spacing],
        "SliceThickness": slice_thickness,
        # Image Pixel
        "SamplesPerPixel": 1,
        "PhotometricInterpretation": "MONOCHROME2",
        "Rows": size,
        "Columns": size,
        "BitsAllocated": 16,
        "BitsStored": 12,
        "HighBit": 11,
        "PixelRepresentation": 0,
        # CT Image
        "RescaleIntercept": RESCALE_INTERCEPT,
        "RescaleSlope": 1,
        "RescaleType": "HU",
        "KVP": 120,
        "DataCollectionDiameter": 500,
        "ReconstructionDiameter": round(size * spacing, 6),
        "GantryDetectorTilt": 0,
        "TableHeight": 150,
        "RotationDirection": "CW",
        "ExposureTime": 500,
        "XRayTubeCurrent": 200,
        "Exposure": 100,
        "ConvolutionKernel": "STANDARD",
        # VOI LUT: soft tissue first, as scanners list their default first.
        "WindowCenter": [40, -600],
        "WindowWidth": [400, 1500],
        "WindowCenterWidthExplanation": ["SOFT TISSUE", "LUNG"],
    }
    if contrast:
        # Contrast/Bolus module, required when contrast was given.
        header["ContrastBolusAgent"] = "IODINATED CONTRAST"
        header["ContrastBolusRoute"] = "IV"
    return header
