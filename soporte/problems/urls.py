from django.urls import include, path

from . import views

desk_patterns = [
    path("", views.problem_list, name="list"),
    path("new/", views.problem_new, name="new"),
    path("<int:problem_id>/", views.problem_page, name="problem"),
    path("<int:problem_id>/tickets/", views.link_ticket, name="link_ticket"),
    path(
        "<int:problem_id>/tickets/<int:number>/unlink/",
        views.unlink_ticket,
        name="unlink_ticket",
    ),
    path("<int:problem_id>/assets/", views.link_asset, name="link_asset"),
    path("<int:problem_id>/assets/<int:asset_id>/unlink/", views.unlink_asset, name="unlink_asset"),
    path("<int:problem_id>/report/", views.report, name="report"),
    path("reports/<int:report_id>/retry/", views.retry, name="retry"),
    path("tickets/<int:number>/similar/", views.ticket_similar, name="ticket_similar"),
    path("tickets/<int:number>/link/", views.ticket_link, name="ticket_link"),
    path("tickets/<int:number>/report/", views.ticket_report, name="ticket_report"),
]

urlpatterns = [path("desk/problems/", include((desk_patterns, "problems")))]
