from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Mailbox, OutboundMail, RawMessage, RawStatus


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "team", "host", "active", "last_polled_at", "last_error"]
    readonly_fields = ["uidvalidity", "last_uid", "last_polled_at", "last_error"]


@admin.register(RawMessage)
class RawMessageAdmin(admin.ModelAdmin):
    """Inbound mail as received; the quarantine is the 'Quarantined' filter, mail refused
    as too large (recorded without its body) the 'Refused' one."""

    list_display = [
        "received_at", "sender", "subject", "source", "size", "status", "error", "ticket",
    ]  # fmt: skip
    list_filter = ["status", "source"]
    search_fields = ["sender", "subject", "mail_id"]
    list_select_related = ["ticket"]
    exclude = ["raw"]
    readonly_fields = [f.name for f in RawMessage._meta.fields if f.name != "raw"]
    actions = ["retry"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Process the selected quarantined messages again"))
    def retry(self, request, queryset):
        done = 0
        for raw in queryset.filter(status=RawStatus.QUARANTINED):
            services.retry(raw.pk, acting_user=request.user)
            done += 1
        self.message_user(
            request, _("%(count)s messages sent through again.") % {"count": done}, messages.SUCCESS
        )


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ticket", "kind", "to", "status", "attempts", "last_error"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in OutboundMail._meta.fields]
    list_select_related = ["ticket"]

    def has_add_permission(self, request):
        return False
