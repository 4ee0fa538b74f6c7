"""The golden dataset of the de-identification tests: a CT whose every identifying value
carries the word MARKER (or is a UID or date listed here), so "nothing identifying survives"
can be checked by searching for them."""

from __future__ import annotations

import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

UID_ROOT = "1.2.826.0.1.3680043.10.1137"
UIDS = {
    "study": f"{UID_ROOT}.1.1",
    "series": f"{UID_ROOT}.2.1",
    "instance": f"{UID_ROOT}.3.1",
    "frame_of_reference": f"{UID_ROOT}.4.1",
    "referenced_image": f"{UID_ROOT}.3.7",
    "instance_creator": f"{UID_ROOT}.5.1",
    "irradiation_event": f"{UID_ROOT}.6.1",
    "concatenation_source": f"{UID_ROOT}.3.9",  # a UI outside Table E.1-1
    "implementation": f"{UID_ROOT}.99",
}
DATES = {
    "StudyDate": "20240115",
    "SeriesDate": "20240115",
    "AcquisitionDate": "20240116",
    "ContentDate": "20240116",
    "InstanceCreationDate": "20240117",
    "DateOfLastCalibration": "20231201",  # X in the Basic Profile, C in the option
    "ExpiryDate": "20250630",  # a DA outside Table E.1-1
}
TIMES = {
    "StudyTime": "083015.123",
    "SeriesTime": "083100",
    "AcquisitionTime": "083500.25",
    "ContentTime": "083501",
    "TimeOfLastCalibration": "120000",
}
ACQUISITION_DATETIME = "20240116083500.250000+0100"
UNKNOWN_PUBLIC_TAG = 0x0018FFF0  # even group, in no edition of the dictionary


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def golden_ct() -> Dataset:
    """A small CT full of identifying values, private data and nested sequences."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = UIDS["instance"]
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = UIDS["implementation"]
    ds.file_meta.SourceApplicationEntityTitle = "MARKER-AE"

    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = UIDS["instance"]
    ds.InstanceCreatorUID = UIDS["instance_creator"]
    for keyword, value in {**DATES, **TIMES}.items():
        setattr(ds, keyword, value)
    ds.AcquisitionDateTime = ACQUISITION_DATETIME
    ds.AccessionNumber = "MARKER-ACC"
    ds.Modality = "CT"
    ds.Manufacturer = "Acme Scanners"
    ds.InstitutionName = "MARKER-INSTITUTION"
    ds.InstitutionAddress = "MARKER-INSTITUTION-ADDRESS"
    ds.ReferringPhysicianName = "MARKER^REFERRER"
    ds.StationName = "MARKER-STATION"
    ds.StudyDescription = "MARKER-STUDY-DESCRIPTION"
    ds.SeriesDescription = "MARKER-SERIES-DESCRIPTION"
    ds.InstitutionalDepartmentName = "MARKER-DEPARTMENT"
    ds.PerformingPhysicianName = "MARKER^PERFORMER"
    ds.NameOfPhysiciansReadingStudy = "MARKER^READER"
    ds.OperatorsName = "MARKER^OPERATOR"
    ds.ManufacturerModelName = "Model 9"
    ds.EvaluatorName = "MARKER^EVALUATOR"  # a PN outside Table E.1-1

    referenced = Dataset()
    referenced.ReferencedSOPClassUID = CTImageStorage
    referenced.ReferencedSOPInstanceUID = UIDS["referenced_image"]
    referenced.PersonName = "MARKER^NESTED-NAME"
    nested_private = referenced.private_block(0x0029, "MARKER-NESTED-CREATOR", create=True)
    nested_private.add_new(0x01, "LO", "MARKER-NESTED-PRIVATE")
    ds.ReferencedImageSequence = Sequence([referenced])

    request = Dataset()
    request.RequestedProcedureID = "MARKER-RPID"
    request.ScheduledProcedureStepID = "MARKER-SPSID"
    request.ReasonForTheRequestedProcedure = "MARKER-REASON"
    ds.RequestAttributesSequence = Sequence([request])

    ds.PatientName = "MARKER^NAME"
    ds.PatientID = "MARKER-PID"
    ds.IssuerOfPatientID = "MARKER-ISSUER"
    ds.PatientBirthDate = "19600202"
    ds.PatientSex = "F"
    ds.PatientAge = "063Y"
    ds.PatientWeight = "71.5"
    ds.PatientAddress = "MARKER-PATIENT-ADDRESS"
    ds.PatientTelephoneNumbers = "MARKER-PHONE"
    ds.PatientComments = "MARKER-PATIENT-COMMENT"
    ds.AdditionalPatientHistory = "MARKER-HISTORY"
    other_id = Dataset()
    other_id.PatientID = "MARKER-OTHER-PID"
    other_id.IssuerOfPatientID = "MARKER-OTHER-ISSUER"
    other_id.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = Sequence([other_id])

    ds.BodyPartExamined = "CHEST"
    ds.SliceThickness = "1.25"
    ds.KVP = "120"
    ds.DeviceSerialNumber = "MARKER-SERIAL"
    ds.SoftwareVersions = "VA10"
    ds.ProtocolName = "MARKER-PROTOCOL"
    ds.PatientPosition = "HFS"

    ds.StudyInstanceUID = UIDS["study"]
    ds.SeriesInstanceUID = UIDS["series"]
    ds.StudyID = "MARKER-STUDYID"
    ds.SeriesNumber = "3"
    ds.AcquisitionNumber = "1"
    ds.InstanceNumber = "12"
    ds.ImagePositionPatient = ["-125.5", "-130.25", "-40"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = UIDS["frame_of_reference"]
    ds.PositionReferenceIndicator = ""
    ds.SOPInstanceUIDOfConcatenationSource = UIDS["concatenation_source"]
    ds.ImageComments = "MARKER-IMAGE-COMMENT"
    ds.IrradiationEventUID = UIDS["irradiation_event"]

    text = Dataset()
    text.RelationshipType = "CONTAINS"
    text.ValueType = "TEXT"
    text.ConceptNameCodeSequence = Sequence([code_item("121106", "DCM", "Comment")])
    text.TextValue = "MARKER-REPORT-TEXT"
    observer = Dataset()
    observer.RelationshipType = "HAS OBS CONTEXT"
    observer.ValueType = "PNAME"
    observer.ConceptNameCodeSequence = Sequence([code_item("121008", "DCM", "Person Observer")])
    observer.PersonName = "MARKER^OBSERVER"
    ds.ContentSequence = Sequence([text, observer])

    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 4
    ds.Columns = 4
    ds.PixelSpacing = ["0.75", "0.75"]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.BurnedInAnnotation = "NO"

    ds.add_new(0x60000010, "US", 4)  # Overlay Rows
    ds.add_new(0x60000011, "US", 4)  # Overlay Columns
    ds.add_new(0x60000022, "LO", "MARKER-OVERLAY-DESCRIPTION")
    ds.add_new(0x60000040, "CS", "G")  # Overlay Type
    ds.add_new(0x60000050, "SS", [1, 1])  # Overlay Origin
    ds.add_new(0x60000100, "US", 1)  # Overlay Bits Allocated
    ds.add_new(0x60000102, "US", 0)  # Overlay Bit Position
    ds.add_new(0x60003000, "OW", b"\x00\x00")
    ds.add_new(UNKNOWN_PUBLIC_TAG, "LO", "MARKER-UNKNOWN-PUBLIC")

    private = ds.private_block(0x0011, "MARKER-CREATOR", create=True)
    private.add_new(0x01, "LO", "MARKER-PRIVATE")
    private.add_new(0x02, "UI", UIDS["study"])

    ds.PixelData = np.arange(16, dtype=np.uint16).reshape(4, 4).tobytes()
    return ds


def written(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
