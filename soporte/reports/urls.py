from django.urls import include, path

from . import views

patterns = [
    path("", views.dashboard, name="dashboard"),
    path("charts/<slug:key>.csv", views.chart_csv, name="chart_csv"),
    path("export/", views.export, name="export"),
]

urlpatterns = [path("desk/reports/", include((patterns, "reports")))]
