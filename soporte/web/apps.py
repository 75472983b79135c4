from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "soporte.web"
    label = "web"
