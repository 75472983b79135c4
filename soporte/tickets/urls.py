from django.urls import include, path

from .views import desk, files, portal, rating, time

desk_patterns = [
    path("", desk.home, name="home"),
    path("tickets/", desk.ticket_list, name="tickets"),
    path("tickets/new/", desk.new_ticket, name="new"),
    path("tickets/bulk/", desk.bulk, name="bulk"),
    path("views/", desk.save_view, name="save_view"),
    path("views/<int:view_id>/delete/", desk.delete_view, name="delete_view"),
    path("macros/", desk.macro_list, name="macros"),
    path("macros/<int:macro_id>/", desk.macro_edit, name="macro"),
    path("macros/<int:macro_id>/delete/", desk.macro_delete, name="macro_delete"),
    path("tickets/<int:number>/", desk.ticket_page, name="ticket"),
    path("tickets/<int:number>/compose/", desk.compose, name="compose"),
    path("tickets/<int:number>/assign/", desk.assign, name="assign"),
    path("tickets/<int:number>/escalate/", desk.escalate, name="escalate"),
    path("tickets/<int:number>/deescalate/", desk.deescalate, name="deescalate"),
    path("tickets/<int:number>/resolve/", desk.resolve, name="resolve"),
    path("tickets/<int:number>/reopen/", desk.reopen, name="reopen"),
    path("tickets/<int:number>/merge/", desk.merge, name="merge"),
    path("tickets/<int:number>/activity/", desk.activity, name="activity"),
    path("tickets/<int:number>/history/", desk.history, name="history"),
    path("tickets/<int:number>/composing/", desk.composing, name="composing"),
    path("tickets/<int:number>/macro/", desk.apply_macro, name="apply_macro"),
    path("tickets/<int:number>/macro/preview/", desk.macro_preview, name="macro_preview"),
    path("tickets/<int:number>/time/", time.log_time, name="log_time"),
    path("tickets/<int:number>/time/<int:entry_id>/", time.edit_entry, name="time_entry"),
    path(
        "tickets/<int:number>/time/<int:entry_id>/delete/",
        time.delete_entry,
        name="time_entry_delete",
    ),
    path("tickets/<int:number>/timer/start/", time.timer_start, name="timer_start"),
    path("tickets/<int:number>/timer/stop/", time.timer_stop, name="timer_stop"),
    path("tickets/<int:number>/timer/discard/", time.timer_discard, name="timer_discard"),
]

portal_patterns = [
    path("", portal.my_tickets, name="tickets"),
    path("new/", portal.new_ticket, name="new"),
    path("new/hint/", portal.category_hint, name="category_hint"),
    path("tickets/<int:number>/", portal.ticket_page, name="ticket"),
    path("tickets/<int:number>/reply/", portal.reply, name="reply"),
    path("tickets/<int:number>/resolve/", portal.mark_resolved, name="resolve"),
    path("tickets/<int:number>/reopen/", portal.reopen, name="reopen"),
    path("tickets/<int:number>/rate/", rating.portal_rate, name="rate"),
]

urlpatterns = [
    path("desk/", include((desk_patterns, "desk"))),
    path("portal/", include((portal_patterns, "portal"))),
    path("files/<int:number>/<int:attachment_id>/", files.download, name="download"),
    path("rate/<str:token>/", rating.rate, name="rate"),
]
