from django.urls import include, path

from . import views

patterns = [
    path("", views.overview, name="overview"),
    path("train/", views.train, name="train"),
    path("settings/", views.save_settings, name="settings"),
    path("banner/", views.banner, name="banner"),
    path("incidents/<int:incident_id>/", views.incident, name="incident"),
    path("tickets/<int:number>/", views.ticket_panel, name="ticket_panel"),
    path("tickets/<int:number>/<str:field>/accept/", views.accept, name="accept"),
    path("tickets/<int:number>/<str:field>/reject/", views.reject, name="reject"),
    path("tickets/<int:number>/duplicate/merge/", views.merge_duplicate, name="merge"),
    path("tickets/<int:number>/duplicate/dismiss/", views.dismiss_duplicate, name="dismiss"),
]

urlpatterns = [path("desk/triage/", include((patterns, "triage")))]
