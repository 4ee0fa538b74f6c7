from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdmin

from cases.audit import audit
from cases.models import (
    Attachment,
    AuditChainHead,
    AuditEvent,
    AuditReadWindow,
    Case,
    CaseInvite,
    ClinicalRevision,
    ExpertReview,
    MolecularResult,
    Opinion,
    OpinionRevision,
    PatientIdentity,
    RequestReply,
    SubmitterRequest,
    Treatment,
)


class AuditedReadAdmin(admin.ModelAdmin):
    """A change page shows the record (a case with its patient's identity, an opinion):
    opening it is a read of patient data like any page of the app, and audited the same way."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET":
            found = self.get_object(request, object_id) if response.status_code == 200 else None
            case = _case_of(found)
            audit(
                actor=request.user,
                action=f"admin.{self.model._meta.model_name}.view",
                case=case,
                target=found,
                allowed=found is not None,
                detail={} if found is not None else {"requested": str(object_id)[:64]},
            )
        return response


def _case_of(found) -> Case | None:
    if found is None or isinstance(found, Case):
        return found
    if isinstance(found, OpinionRevision):
        return found.opinion.case
    if isinstance(found, RequestReply):
        return found.request.case
    return found.case


class PatientIdentityInline(admin.StackedInline):
    model = PatientIdentity
    can_delete = False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = (
        "original_name",
        "document_type",
        "kind",
        "size",
        "sha256",
        "uploaded_by",
        "uploaded_at",
    )
    # The document type may be corrected (an upload left as "other"); the rest is the file's.
    readonly_fields = tuple(f for f in fields if f != "document_type")
    can_delete = False


class TreatmentInline(admin.TabularInline):
    model = Treatment
    extra = 0
    fields = (
        "kind",
        "timing",
        "started_on",
        "ended_on",
        "ongoing",
        "procedure",
        "margin",
        "dose_gy",
        "fractions",
        "regimen",
        "cycles",
        "response",
        "notes",
    )


class MolecularResultInline(admin.TabularInline):
    model = MolecularResult
    extra = 0
    fields = ("method", "target", "result", "detail", "germline", "laboratory", "reported_on")


class ClinicalRevisionInline(admin.TabularInline):
    """The clinical record's history, as the app wrote it: never edited here."""

    model = ClinicalRevision
    extra = 0
    fields = ("edited_at", "edited_by", "changes")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CodingReviewFilter(admin.SimpleListFilter):
    """Cases whose diagnosis migration 0008 could not code without a person choosing."""

    title = _("coding to review")
    parameter_name = "coding_review"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(coding_review="")
        if self.value() == "no":
            return queryset.filter(coding_review="")
        return queryset


@admin.register(Case)
class CaseAdmin(AuditedReadAdmin, GuardedModelAdmin):
    list_display = (
        "pseudonym",
        "board",
        "kind",
        "status",
        "question_type",
        "urgency",
        "needs_coding_review",
        "created_at",
    )
    list_filter = (CodingReviewFilter, "board", "status", "kind", "urgency", "question_type")
    search_fields = ("pseudonym", "question")
    # The workflow moves only through the app (cases.services: checks, audit, emails, events).
    readonly_fields = (
        "uuid",
        "pseudonym",
        "histotype",
        "status",
        "created_at",
        "updated_at",
        "submitted_at",
        "ready_at",
    )
    raw_id_fields = ("submitted_by",)
    # Grouped as the case form groups them (the request, the diagnosis and its site, the
    # setting, tumour and stage, grade, margins, workup); the coding flag comes first, where
    # whoever opens a flagged case sees it.
    fieldsets = (
        (
            _("Coding to review"),
            {
                "fields": ("coding_review", "histotype"),
                "description": _(
                    "Set where a diagnosis recorded before WHO 2020 coding named more than one "
                    "entity or site: choose below, then empty this field."
                ),
            },
        ),
        (
            _("Case"),
            {
                "fields": (
                    ("uuid", "pseudonym"),
                    ("board", "submitted_by"),
                    ("kind", "status", "ready_at"),
                    ("created_at", "updated_at", "submitted_at"),
                )
            },
        ),
        (
            _("The request"),
            {
                "fields": (
                    ("sex", "age"),
                    "clinical_summary",
                    "history",
                    "question",
                    ("question_type", "urgency"),
                    ("referring_physician", "referring_institution"),
                )
            },
        ),
        (
            _("Diagnosis and site"),
            {
                "fields": (
                    ("entity", "diagnosis_other"),
                    ("topography", "laterality"),
                    "primary_site",
                )
            },
        ),
        (
            _("Disease setting"),
            {
                "fields": (
                    ("disease_setting", "radiation_associated"),
                    ("first_diagnosis_date", "recurrence_date"),
                )
            },
        ),
        (
            _("Tumour and stage"),
            {
                "fields": (
                    ("size_cm", "depth"),
                    "staging_extent",
                    ("nodes", "metastasis", "neoadjuvant"),
                )
            },
        ),
        (
            _("Grade"),
            {
                "fields": (
                    ("differentiation_score", "mitotic_count", "necrosis"),
                    ("reported_grade", "grade_specimen", "grade_after_neoadjuvant"),
                    "viable_tumour_percent",
                    ("mitoses_per_5mm2", "tumour_rupture"),
                )
            },
        ),
        (
            _("Margins"),
            {"fields": (("resection", "r_class"), ("closest_margin_mm", "margin_barrier"))},
        ),
        (
            _("Workup"),
            {
                "fields": (
                    ("primary_imaging_modality", "primary_imaging_date"),
                    ("chest_staging", "chest_staging_date"),
                    ("metastatic_sites", "metastasis_count"),
                )
            },
        ),
        (
            _("Molecular, performance status, review"),
            {"fields": ("molecular_findings", "ecog", ("pathology_review", "slides"))},
        ),
    )
    inlines = [
        PatientIdentityInline,
        TreatmentInline,
        MolecularResultInline,
        AttachmentInline,
        ClinicalRevisionInline,
    ]

    @admin.display(boolean=True, description=_("coding to review"))
    def needs_coding_review(self, case: Case) -> bool:
        return bool(case.coding_review)


@admin.register(Attachment)
class AttachmentAdmin(AuditedReadAdmin):
    list_display = ("original_name", "case", "document_type", "kind", "size", "uploaded_at")
    list_filter = ("document_type", "kind")
    readonly_fields = ("uuid", "sha256", "size", "kind", "mime", "extension", "uploaded_at")
    raw_id_fields = ("case", "uploaded_by")


class OpinionRevisionInline(admin.TabularInline):
    model = OpinionRevision
    extra = 0
    readonly_fields = ("body", "edited_by", "edited_at")
    can_delete = False


@admin.register(Opinion)
class OpinionAdmin(AuditedReadAdmin):
    list_display = ("uuid", "case", "author", "author_specialty", "created_at", "withdrawn_at")
    list_filter = ("author_specialty",)
    raw_id_fields = ("case", "author", "parent")
    # An opinion is edited by its author in the app, which keeps each earlier text as a
    # revision; an edit here would rewrite the record with no trace.
    readonly_fields = (
        "uuid",
        "body",
        "author_specialty",
        "created_at",
        "edited_at",
        "withdrawn_at",
    )
    inlines = [OpinionRevisionInline]


@admin.register(CaseInvite)
class CaseInviteAdmin(AuditedReadAdmin):
    """Invitations are made on the case's page and bound by their link; here an administrator
    may look, and shorten or revoke (expiry, revocation), but not bind one to an account."""

    list_display = (
        "email",
        "expert",
        "case",
        "invited_by",
        "accepted_at",
        "expires_at",
        "revoked_at",
    )
    fields = (
        "case",
        "email",
        "name",
        "expert",
        "invited_by",
        "created_at",
        "accepted_at",
        "expires_at",
        "revoked_at",
    )
    readonly_fields = ("case", "email", "expert", "invited_by", "created_at", "accepted_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ExpertReview)
class ExpertReviewAdmin(AuditedReadAdmin):
    """Expert reviews (issue #16) are asked for, assigned and taken on the case page, where
    the rights are checked and the moves audited; here they are looked at."""

    list_display = ("case", "service", "purpose", "expert", "requested_at", "completed_at")
    list_filter = ("purpose", "service")
    raw_id_fields = ("case", "service", "requested_by", "expert", "assigned_by", "waived_by")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The whole trail, read-only: events are appended by the app, never edited."""

    list_display = ("at", "actor_label", "action", "case", "object_type", "outcome", "ip")
    list_filter = ("outcome", "action")
    search_fields = ("actor_label", "action", "object_id")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(admin.ModelAdmin):
    """The newest link of the audit chain, read-only: only cases.audit moves it."""

    list_display = ("event_id", "sha256")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditReadWindow)
class AuditReadWindowAdmin(admin.ModelAdmin):
    """How many frames each windowed read took (cases.reads), read-only: only the app counts."""

    list_display = ("event", "reads", "last_read_at", "closes_at")
    raw_id_fields = ("event",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PatientIdentity)
class PatientIdentityAdmin(AuditedReadAdmin):
    list_display = ("case",)  # never the name in a list
    raw_id_fields = ("case",)


@admin.register(OpinionRevision)
class OpinionRevisionAdmin(AuditedReadAdmin):
    list_display = ("opinion", "edited_by", "edited_at")
    readonly_fields = ("opinion", "body", "edited_by", "edited_at")


@admin.register(Treatment)
class TreatmentAdmin(AuditedReadAdmin):
    list_display = ("case", "kind", "started_on", "timing")
    list_filter = ("kind",)
    raw_id_fields = ("case",)


@admin.register(MolecularResult)
class MolecularResultAdmin(AuditedReadAdmin):
    list_display = ("case", "method", "target", "result", "germline")
    list_filter = ("method", "germline")
    raw_id_fields = ("case",)


@admin.register(ClinicalRevision)
class ClinicalRevisionAdmin(AuditedReadAdmin):
    """The history of the clinical record: written by the app, never edited here."""

    list_display = ("case", "edited_by", "edited_at")
    readonly_fields = ("case", "edited_by", "edited_at", "changes")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- requests to the submitter (issue #16) -----------------------------------------------
# Written in the app only (asked, answered, closed, each audited); here they are read.


class RequestReplyInline(admin.TabularInline):
    model = RequestReply
    extra = 0
    fields = ("author", "text", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SubmitterRequest)
class SubmitterRequestAdmin(AuditedReadAdmin):
    list_display = ("uuid", "case", "kind", "status", "asked_by", "created_at", "closed_at")
    list_filter = ("status", "kind")
    raw_id_fields = ("case", "asked_by", "closed_by")
    readonly_fields = (
        "uuid",
        "case",
        "asked_by",
        "kind",
        "text",
        "status",
        "created_at",
        "answered_at",
        "closed_at",
        "closed_by",
    )
    inlines = [RequestReplyInline]

    def has_add_permission(self, request):
        return False


@admin.register(RequestReply)
class RequestReplyAdmin(AuditedReadAdmin):
    list_display = ("uuid", "request", "author", "created_at")
    readonly_fields = ("uuid", "request", "author", "text", "attachments", "created_at")

    def has_add_permission(self, request):
        return False
