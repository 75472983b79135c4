from django.urls import include, path

from . import views

portal_patterns = [
    path("", views.portal_list, name="list"),
    path("start/", views.start, name="start"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("runs/<int:run_id>/answer/", views.run_answer, name="answer"),
    path("runs/<int:run_id>/back/", views.run_back, name="back"),
    path("runs/<int:run_id>/finish/", views.run_finish, name="finish"),
    path("runs/<int:run_id>/ticket/", views.open_ticket, name="open_ticket"),
]

desk_patterns = [
    path("", views.flow_list, name="list"),
    path("new/", views.flow_edit, name="new"),
    path("import/", views.flow_import, name="import"),
    path("start/", views.start, name="start"),
    path("tickets/<int:number>/", views.ticket_flows, name="ticket"),
    path("tickets/<int:number>/start/", views.start, name="start_on_ticket"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("runs/<int:run_id>/answer/", views.run_answer, name="answer"),
    path("runs/<int:run_id>/back/", views.run_back, name="back"),
    path("runs/<int:run_id>/finish/", views.run_finish, name="finish"),
    path("<slug:slug>/", views.flow_page, name="flow"),
    path("<slug:slug>/edit/", views.flow_edit, name="edit"),
    path("<slug:slug>/export.yaml", views.flow_export, name="export"),
    path("<slug:slug>/archive/", views.flow_archive, name="archive"),
]

urlpatterns = [
    path("help/troubleshoot/", include((portal_patterns, "flows"))),
    path("desk/flows/", include((desk_patterns, "flowsdesk"))),
]
