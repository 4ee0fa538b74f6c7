"""The DICOM JSON model (PS3.18 Annex F) for DICOMweb answers.

Search results are built from the index tables (no file is opened); metadata
is built from the stored files' headers. Attribute objects are keyed by the
tag as eight upper-case hex digits: ``{"0020000D": {"vr": "UI", "Value": [...]}}``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.uid import UID

from imaging.models import Instance, Series, Study

Json = dict[str, Any]

# FailureReason values (PS3.18 Table 10.5.3-3; PS3.7 Annex C for the classes).
FAILURE_SOP_CLASS_NOT_SUPPORTED = 0x0122
FAILURE_OUT_OF_RESOURCES = 0xA700
FAILURE_CANNOT_UNDERSTAND = 0xC000


@cache
def tag(keyword: str) -> str:
    """The JSON key of a keyword: ``"StudyInstanceUID"`` → ``"0020000D"``."""
    number = tag_for_keyword(keyword)
    if number is None:
        raise KeyError(keyword)
    return f"{number:08X}"


@cache
def keyword_of(key: str) -> str | None:
    """A query key as a keyword; keys may be keywords or tags (``0020000D``), else None."""
    if tag_for_keyword(key) is not None:
        return key
    if len(key) == 8:
        try:
            return keyword_for_tag(int(key, 16)) or None
        except ValueError:
            return None
    return None


def attribute(keyword: str, *values: Any) -> Json:
    """One attribute; no value (None or "") gives a present but empty attribute."""
    vr = dictionary_VR(tag_for_keyword(keyword))
    kept = [v for v in values if v is not None and v != ""]
    if not kept:
        return {"vr": vr}
    if vr == "PN":
        kept = [{"Alphabetic": str(v)} for v in kept]
    return {"vr": vr, "Value": kept}


def dataset(**attributes: Any) -> Json:
    """A DICOM JSON object from keyword=value (a list is a multi-valued attribute)."""
    out: Json = {}
    for keyword, value in attributes.items():
        values = value if isinstance(value, list | tuple) else [value]
        out[tag(keyword)] = attribute(keyword, *values)
    return dict(sorted(out.items()))


def date(value: datetime.date | None) -> str | None:
    return value.strftime("%Y%m%d") if value else None


# --- search results (QIDO-RS, PS3.18 Table 6.7.1-2 and -2a) ----------------------------


def study_result(study: Study, *, modalities: Iterable[str], retrieve_url: str) -> Json:
    """``study`` is annotated with ``series_total`` and ``instance_total``."""
    return dataset(
        StudyInstanceUID=study.study_instance_uid,
        StudyDate=date(study.study_date),
        StudyTime=study.study_time,
        AccessionNumber=study.accession_number,
        InstanceAvailability="ONLINE",
        ModalitiesInStudy=sorted({m for m in modalities if m}),
        PatientName=study.patient_name,
        PatientID=study.patient_id,
        StudyDescription=study.description,
        NumberOfStudyRelatedSeries=study.series_total,
        NumberOfStudyRelatedInstances=study.instance_total or 0,
        RetrieveURL=retrieve_url,
    )


def series_result(series: Series, *, retrieve_url: str) -> Json:
    """``series.study`` must be loaded (select_related)."""
    return dataset(
        StudyInstanceUID=series.study.study_instance_uid,
        Modality=series.modality,
        SeriesInstanceUID=series.series_instance_uid,
        SeriesNumber=series.series_number,
        SeriesDescription=series.description,
        BodyPartExamined=series.body_part,
        InstanceAvailability="ONLINE",
        NumberOfSeriesRelatedInstances=series.instance_count,
        RetrieveURL=retrieve_url,
    )


def instance_result(instance: Instance, *, retrieve_url: str) -> Json:
    """``instance.series.study`` must be loaded (select_related)."""
    return dataset(
        StudyInstanceUID=instance.series.study.study_instance_uid,
        SeriesInstanceUID=instance.series.series_instance_uid,
        Modality=instance.series.modality,
        SOPClassUID=instance.sop_class_uid,
        SOPInstanceUID=instance.sop_instance_uid,
        InstanceAvailability="ONLINE",
        InstanceNumber=instance.instance_number,
        Rows=instance.rows or None,
        Columns=instance.columns or None,
        BitsAllocated=instance.bits_allocated or None,
        NumberOfFrames=instance.frames,
        RetrieveURL=retrieve_url,
    )


# --- metadata (WADO-RS) -----------------------------------------------------------------------


def metadata(ds: Dataset, *, instance: Instance, pixel_data_uri: str) -> Json:
    """A stored header (read with ``stop_before_pixels``) as DICOM JSON.

    Pixel data is bulk data: it is named by a BulkDataURI to the instance's frames,
    never inlined. Other binary values are small enough to travel inline.
    """
    # Without a bulk data handler pydicom inlines binary values; an invalid value is
    # dropped rather than failing the whole answer.
    out = ds.to_json_dict(suppress_invalid_tags=True)
    for key in ("7FE00008", "7FE00009", "7FE00010"):  # float, double float, pixel data
        out.pop(key, None)
    out[tag("AvailableTransferSyntaxUID")] = attribute(
        "AvailableTransferSyntaxUID", instance.transfer_syntax_uid
    )
    # Every stored instance has pixel data: the ingest skips objects without.
    compressed = UID(instance.transfer_syntax_uid).is_compressed
    vr = "OW" if not compressed and instance.bits_allocated > 8 else "OB"
    out["7FE00010"] = {"vr": vr, "BulkDataURI": pixel_data_uri}
    return dict(sorted(out.items()))


# --- the STOW-RS answer (PS3.18 10.5.3) --------------------------------------------------


def referenced_sop(*, sop_class_uid: str, sop_instance_uid: str, retrieve_url: str) -> Json:
    return dataset(
        ReferencedSOPClassUID=sop_class_uid,
        ReferencedSOPInstanceUID=sop_instance_uid,
        RetrieveURL=retrieve_url,
    )


def failed_sop(*, sop_class_uid: str, sop_instance_uid: str, reason: int, comment: str) -> Json:
    # The UIDs are always present, empty when the part could not be read: clients look
    # them up on every failed item. ErrorComment (LO) carries the reason a person reads.
    return dataset(
        ReferencedSOPClassUID=sop_class_uid,
        ReferencedSOPInstanceUID=sop_instance_uid,
        FailureReason=reason,
        ErrorComment=comment[:64],
    )


def store_response(*, referenced: list[Json], failed: list[Json], retrieve_url: str | None) -> Json:
    out: Json = {}
    if retrieve_url:
        out[tag("RetrieveURL")] = attribute("RetrieveURL", retrieve_url)
    if referenced:
        out[tag("ReferencedSOPSequence")] = {"vr": "SQ", "Value": referenced}
    if failed:
        out[tag("FailedSOPSequence")] = {"vr": "SQ", "Value": failed}
    return dict(sorted(out.items()))
