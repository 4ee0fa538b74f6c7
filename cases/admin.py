from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from cases.audit import audit
from cases.models import (
    Attachment,
    AuditChainHead,
    AuditEvent,
    AuditReadWindow,
    Case,
    CaseInvite,
    Opinion,
    OpinionRevision,
    PatientIdentity,
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
    return found.case


class PatientIdentityInline(admin.StackedInline):
    model = PatientIdentity
    can_delete = False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("original_name", "kind", "size", "sha256", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Case)
class CaseAdmin(AuditedReadAdmin, GuardedModelAdmin):
    list_display = ("pseudonym", "board", "kind", "status", "urgency", "created_at")
    list_filter = ("board", "status", "kind", "urgency", "question_type")
    search_fields = ("pseudonym", "question")
    # The workflow moves only through the app (cases.services: checks, audit, emails, events).
    readonly_fields = (
        "uuid",
        "pseudonym",
        "status",
        "created_at",
        "updated_at",
        "submitted_at",
        "ready_at",
    )
    raw_id_fields = ("submitted_by",)
    inlines = [PatientIdentityInline, AttachmentInline]


@admin.register(Attachment)
class AttachmentAdmin(AuditedReadAdmin):
    list_display = ("original_name", "case", "kind", "size", "uploaded_at")
    list_filter = ("kind",)
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
