from django.urls import path

from . import views

urlpatterns = [
    path("desk/search/", views.desk_search, name="desk_search"),
]
