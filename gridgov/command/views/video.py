from django.urls import URLPattern

urlpatterns: list[URLPattern] = []


def register() -> None:
    """Called from CommandConfig.ready()."""
