"""DICOMweb resources of one case, included at ``dicomweb/cases/<uuid:case_id>/``.

Paths follow PS3.18 exactly, without trailing slashes: a client's base URL is
``…/dicomweb/cases/<case uuid>`` and it appends ``/studies`` and so on.
"""

from django.urls import path, register_converter

from imaging import dicomweb


class DicomUIDConverter:
    """A UID (PS3.5 9.1): digits and dots, at most 64 characters."""

    regex = r"[0-9][0-9.]{0,63}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class FrameListConverter(DicomUIDConverter):
    """1-based frame numbers separated by commas (PS3.18 8.3.1.2.3): ``1`` or ``1,3,5``."""

    regex = r"[0-9]{1,6}(?:,[0-9]{1,6}){0,9999}"


register_converter(DicomUIDConverter, "dicom_uid")
register_converter(FrameListConverter, "frame_list")

STUDY = "studies/<dicom_uid:study_uid>"
SERIES = f"{STUDY}/series/<dicom_uid:series_uid>"
INSTANCE = f"{SERIES}/instances/<dicom_uid:instance_uid>"
FRAMES = f"{INSTANCE}/frames/<frame_list:frames>"

urlpatterns = [
    path("studies", dicomweb.studies_resource, name="dicomweb-studies"),
    path("series", dicomweb.all_series, name="dicomweb-series"),
    path("instances", dicomweb.all_instances, name="dicomweb-instances"),
    path(STUDY, dicomweb.study_resource, name="dicomweb-study"),
    path(f"{STUDY}/metadata", dicomweb.study_metadata, name="dicomweb-study-metadata"),
    path(f"{STUDY}/series", dicomweb.study_series, name="dicomweb-study-series"),
    path(f"{STUDY}/instances", dicomweb.study_instances, name="dicomweb-study-instances"),
    path(SERIES, dicomweb.series_retrieve, name="dicomweb-series-retrieve"),
    path(f"{SERIES}/metadata", dicomweb.series_metadata, name="dicomweb-series-metadata"),
    path(f"{SERIES}/instances", dicomweb.series_instances, name="dicomweb-series-instances"),
    path(INSTANCE, dicomweb.instance_retrieve, name="dicomweb-instance"),
    path(f"{INSTANCE}/metadata", dicomweb.instance_metadata, name="dicomweb-instance-metadata"),
    path(f"{INSTANCE}/rendered", dicomweb.instance_rendered, name="dicomweb-instance-rendered"),
    path(FRAMES, dicomweb.instance_frames, name="dicomweb-frames"),
    path(f"{FRAMES}/rendered", dicomweb.frames_rendered, name="dicomweb-frames-rendered"),
]
