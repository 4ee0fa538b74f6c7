from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from board.models import (
    ApiToken,
    Board,
    DataManager,
    Membership,
    QuorumRequirement,
    User,
    UserSession,
)
from board.second_factor import second_factor_reset
from board.sessions import session_end


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Consilium"), {"fields": ("kind", "specialty", "institution", "time_zone")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Consilium"), {"fields": ("kind", "specialty", "institution")}),
    )
    list_display = ("username", "display_name", "kind", "specialty", "institution", "is_active")
    list_filter = ("kind", "specialty", "is_active", "is_staff")
    search_fields = ("username", "first_name", "last_name", "email", "institution")
    actions = ["reset_second_factor"]

    @admin.action(description=_("Reset the second factor (they enrol again at next sign-in)"))
    def reset_second_factor(self, request, queryset) -> None:
        # For a lost phone and lost recovery codes, once the person is identified out of band.
        removed = sum(second_factor_reset(actor=request.user, user=user) for user in queryset)
        self.message_user(
            request,
            _("Second factor reset for %(users)d account(s); %(devices)d device(s) removed.")
            % {"users": queryset.count(), "devices": removed},
            messages.SUCCESS,
        )


class QuorumRequirementInline(admin.TabularInline):
    model = QuorumRequirement
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class DataManagerInline(admin.TabularInline):
    model = DataManager
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "disease_focus", "created_at")
    list_filter = ("kind", "disease_focus")
    search_fields = ("name",)
    readonly_fields = ("uuid", "created_at")
    inlines = [QuorumRequirementInline, MembershipInline, DataManagerInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "board", "role", "specialty")
    list_filter = ("board", "role", "specialty")
    search_fields = ("user__username", "user__last_name", "board__name")
    autocomplete_fields = ("user", "board")


@admin.register(DataManager)
class DataManagerAdmin(admin.ModelAdmin):
    list_display = ("user", "board")
    list_filter = ("board",)
    search_fields = ("user__username", "user__last_name", "board__name")
    autocomplete_fields = ("user", "board")


@admin.register(QuorumRequirement)
class QuorumRequirementAdmin(admin.ModelAdmin):
    list_display = ("board", "specialty", "minimum")
    list_filter = ("board",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owner (account page) or ``create_api_token``; here they are
    looked at and revoked, never read back: only the hash is stored."""

    list_display = (
        "name",
        "user",
        "prefix",
        "scope",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("scope", "revoked_at")
    search_fields = ("name", "prefix", "user__username")
    raw_id_fields = ("user",)
    fields = (
        "uuid",
        "user",
        "name",
        "prefix",
        "key_hash",
        "scope",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
    )
    readonly_fields = (
        "uuid",
        "user",
        "prefix",
        "key_hash",
        "scope",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
    )

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    """Read only: sessions begin at sign-in; an administrator may end them (audited)."""

    list_display = ("user", "ip", "user_agent", "signed_in_at", "last_activity_at", "end_reason")
    list_filter = ("end_reason",)
    search_fields = ("user__username",)
    exclude = ("session_key",)
    readonly_fields = (
        "uuid",
        "user",
        "user_agent",
        "ip",
        "signed_in_at",
        "last_activity_at",
        "ended_at",
        "end_reason",
    )
    actions = ["end_sessions"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("End the selected sessions"))
    def end_sessions(self, request, queryset) -> None:
        ended = sum(
            session_end(user_session=s, reason=UserSession.EndReason.ENDED, actor=request.user)
            for s in queryset.filter(ended_at__isnull=True)
        )
        self.message_user(request, _("Sessions ended: %(count)d.") % {"count": ended})
