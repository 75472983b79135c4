from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("login/link/", views.request_link, name="request_sign_in_link"),
    path("login/link/<str:token>/", views.sign_in_with_link, name="sign_in_with_link"),
    path("logout/", views.sign_out, name="logout"),
    path("preferences/", views.preferences, name="preferences"),
]
