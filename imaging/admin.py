from django.contrib import admin

from imaging.models import (
    Annotation,
    DicomCaller,
    InboxInstance,
    InboxStudy,
    Instance,
    KeyImage,
    Series,
    Study,
)


class SeriesInline(admin.TabularInline):
    model = Series
    extra = 0
    fields = ("modality", "description", "series_number", "instance_count", "frame_count")
    readonly_fields = fields
    can_delete = False


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("uuid", "case", "study_date", "description", "deidentified", "created_at")
    list_filter = ("deidentified",)
    raw_id_fields = ("case", "uploaded_by")
    # Whether the pixels and headers were de-identified is a fact of the ingest, not a setting.
    readonly_fields = ("uuid", "study_instance_uid", "deidentified")
    inlines = [SeriesInline]


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ("uuid", "study", "modality", "description", "instance_count", "burned_in_risk")
    list_filter = ("modality", "burned_in_risk")
    raw_id_fields = ("study",)
    readonly_fields = ("uuid", "series_instance_uid")


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("sop_instance_uid", "series", "instance_number", "frames", "rows", "columns")
    raw_id_fields = ("series",)
    readonly_fields = ("uuid", "sop_instance_uid", "sha256", "size", "transfer_syntax_uid")


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ("uuid", "case", "kind", "author", "version", "updated_at", "deleted_at")
    list_filter = ("kind",)
    list_select_related = ("case", "author")
    raw_id_fields = ("case", "instance", "author")
    readonly_fields = ("uuid", "version", "created_at", "updated_at")


@admin.register(KeyImage)
class KeyImageAdmin(admin.ModelAdmin):
    list_display = ("uuid", "case", "caption", "frame", "author", "created_at")
    list_select_related = ("case", "author")
    raw_id_fields = ("case", "instance", "author")
    # A key image is a frozen record of what someone saw.
    readonly_fields = ("uuid", "state", "annotations", "created_at")


@admin.register(DicomCaller)
class DicomCallerAdmin(admin.ModelAdmin):
    list_display = ("ae_title", "host", "board", "created_at")
    list_select_related = ("board",)
    readonly_fields = ("uuid", "created_at")


# The inbox names patients: its list shows no identifier, and nothing in it is edited here
# (the board's inbox page attaches or discards).
@admin.register(InboxStudy)
class InboxStudyAdmin(admin.ModelAdmin):
    list_display = ("uuid", "board", "modalities", "instance_count", "last_received_at")
    list_select_related = ("board",)
    exclude = ("patient_name", "patient_id")
    readonly_fields = (
        "uuid",
        "board",
        "study_instance_uid",
        "study_date",
        "accession_number",
        "description",
        "modalities",
        "calling_ae_title",
        "instance_count",
    )


@admin.register(InboxInstance)
class InboxInstanceAdmin(admin.ModelAdmin):
    list_display = ("sop_instance_uid", "study", "size", "received_at")
    raw_id_fields = ("study",)
    readonly_fields = ("sop_instance_uid", "file", "size")
