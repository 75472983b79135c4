from django.urls import include, path

from .views import desk, portal

portal_patterns = [
    path("", portal.my_sessions, name="sessions"),
    path("sessions/<int:session_id>/", portal.session, name="session"),
    path("sessions/<int:session_id>/answer/", portal.answer, name="answer"),
    path("sessions/<int:session_id>/feedback/", portal.feedback, name="feedback"),
    path("sessions/<int:session_id>/certificate.pdf", portal.certificate, name="certificate"),
    path("sessions/<int:session_id>/invite.ics", portal.invitation, name="ics"),
    path("respond/<str:token>/", portal.respond, name="respond"),
]

desk_patterns = [
    path("", desk.courses, name="courses"),
    path("courses/<int:course_id>/", desk.course, name="course"),
    path("courses/<int:course_id>/files/", desk.upload, name="upload"),
    path("sessions/<int:session_id>/", desk.session, name="session"),
    path("sessions/<int:session_id>/invite/", desk.invite, name="invite"),
    path("sessions/<int:session_id>/attendance/", desk.attendance, name="attendance"),
    path("sessions/<int:session_id>/cancel/", desk.cancel, name="cancel"),
    path("report/", desk.report, name="report"),
    path("tickets/<int:number>/", desk.ticket_panel, name="ticket_panel"),
    path("tickets/<int:number>/recommend/", desk.recommend, name="recommend"),
]

urlpatterns = [
    path("portal/training/", include((portal_patterns, "training"))),
    path("desk/training/", include((desk_patterns, "trainingdesk"))),
]
