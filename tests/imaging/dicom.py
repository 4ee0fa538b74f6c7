"""Small DICOM files built in memory for tests."""

from __future__ import annotations

import io

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

PATIENT = "Quixote^Alonso"
PATIENT_ID = "HOSP-4455661"


def ct_dataset(
    *,
    rows: int = 16,
    columns: int = 16,
    z: float = 0.0,
    number: int = 1,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    values: np.ndarray | None = None,
    modality: str = "CT",
) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid or generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.PatientName = PATIENT
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19610314"
    ds.StudyDate = "20260105"
    ds.StudyTime = "101500"
    ds.StudyDescription = "CT THIGH"
    ds.SeriesDescription = "Axial soft tissue"
    ds.InstitutionName = "Riverside General Hospital"
    ds.Modality = modality
    ds.SeriesNumber = 2
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [-100.0, -100.0, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.8, 0.8]
    ds.SliceThickness = 2.5
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.WindowCenter, ds.WindowWidth = [40, -600], [400, 1500]
    if values is None:
        values = (np.arange(rows * columns, dtype=np.uint16).reshape(rows, columns) + number) % 4096
    ds.PixelData = values.astype("<u2").tobytes()
    return ds


def to_bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def ct_bytes(**kwargs) -> bytes:
    return to_bytes(ct_dataset(**kwargs))


def series_bytes(count: int = 5, *, shuffle: bool = True, **kwargs) -> list[bytes]:
    """A series whose instance numbers and order of files disagree with its positions."""
    study, series = generate_uid(), generate_uid()
    files = [
        ct_bytes(study_uid=study, series_uid=series, z=-5.0 * i, number=count - i, **kwargs)
        for i in range(count)
    ]
    if shuffle:
        files = files[1::2] + files[0::2]
    return files
