from django.urls import include, path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
]
