from django.contrib import admin
from django.urls import include, path

from soporte.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("soporte.accounts.urls")),
    path("", include("soporte.tickets.urls")),
    path("", include("soporte.kb.urls")),
    path("", include("soporte.assets.urls")),
    path("", include("soporte.problems.urls")),
    path("", include("soporte.playbooks.urls")),
    path("", include("soporte.flows.urls")),
    path("", include("soporte.reports.urls")),
    path("", include("soporte.triage.urls")),
    path("", include("soporte.training.urls")),
    path("", include("soporte.evaluations.urls")),
    path("", include("soporte.ops.urls")),
    path("", include("soporte.search.urls")),
    path("", include("soporte.web.urls")),
]
