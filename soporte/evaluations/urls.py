from django.urls import include, path

from . import views

desk_patterns = [
    path("", views.evaluation_list, name="list"),
    path("new/", views.evaluation_new, name="new"),
    path("report/", views.report, name="report"),
    path("report.csv", views.report_csv, name="report_csv"),
    path("<int:evaluation_id>/", views.evaluation_page, name="evaluation"),
    path("<int:evaluation_id>/start/", views.start, name="start"),
    path("<int:evaluation_id>/steps/", views.add_step, name="add_step"),
    path("<int:evaluation_id>/steps/<int:step_id>/", views.record_step, name="record_step"),
    path("<int:evaluation_id>/compatibility/", views.compatibility, name="compatibility"),
    path("<int:evaluation_id>/score/", views.score, name="score"),
    path("<int:evaluation_id>/findings/", views.add_finding, name="add_finding"),
    path(
        "<int:evaluation_id>/findings/<int:finding_id>/problem/",
        views.finding_problem,
        name="finding_problem",
    ),
    path("<int:evaluation_id>/decide/", views.decide, name="decide"),
    path("<int:evaluation_id>/feedback/", views.feedback, name="feedback"),
    path(
        "<int:evaluation_id>/feedback/<int:feedback_id>/retry/",
        views.retry_feedback,
        name="retry_feedback",
    ),
]

urlpatterns = [path("desk/evaluations/", include((desk_patterns, "evaluations")))]
