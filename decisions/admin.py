"""The board's deliberation in the admin: shown, changed only through the app (a draft
consensus excepted)."""

from django.contrib import admin

from decisions.models import (
    Consensus,
    ConsensusCosignature,
    ExpertOpinion,
    Proposal,
    Report,
    Vote,
    VoteChoice,
    VoteRound,
)


class ViewOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Proposal)
class ProposalAdmin(ViewOnlyAdmin):
    list_display = ("__str__", "case", "author", "created_at", "withdrawn_at")
    list_filter = ("category",)


class VoteChoiceInline(admin.TabularInline):
    model = VoteChoice
    extra = 0
    readonly_fields = ("proposal", "position")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(VoteRound)
class VoteRoundAdmin(ViewOnlyAdmin):
    list_display = ("__str__", "case", "status", "result", "opened_at", "deadline", "closed_at")
    list_filter = ("status", "result")


@admin.register(Vote)
class VoteAdmin(ViewOnlyAdmin):
    list_display = ("__str__", "voter_specialty", "cast_at")
    inlines = [VoteChoiceInline]


@admin.register(VoteChoice)
class VoteChoiceAdmin(ViewOnlyAdmin):
    list_display = ("vote", "proposal", "position")


class CosignatureInline(admin.TabularInline):
    model = ConsensusCosignature
    extra = 0
    readonly_fields = ("signer", "signed_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Consensus)
class ConsensusAdmin(admin.ModelAdmin):
    """A draft can be fixed here; a signed version is shown read-only (the model refuses too)."""

    list_display = ("__str__", "case", "category", "signed_by", "signed_at")
    list_filter = ("category",)
    raw_id_fields = ("case", "supersedes", "round", "proposal", "drafted_by")
    readonly_fields = ("uuid", "signed_by", "signed_at", "created_at", "updated_at")
    inlines = [CosignatureInline]

    def has_add_permission(self, request):
        return False  # drafts start from the case page, where the vote is

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.is_signed

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.is_signed


@admin.register(ConsensusCosignature)
class ConsensusCosignatureAdmin(ViewOnlyAdmin):
    list_display = ("consensus", "signer", "signed_at")


@admin.register(Report)
class ReportAdmin(ViewOnlyAdmin):
    list_display = (
        "consensus",
        "audience",
        "status",
        "size",
        "sha256",
        "requested_at",
        "generated_at",
    )


@admin.register(ExpertOpinion)
class ExpertOpinionAdmin(ViewOnlyAdmin):
    """Written and signed on the case page by the expert holding the review (issue #16)."""

    list_display = ("__str__", "concordance", "signed_by", "signed_at")
    list_filter = ("concordance",)
