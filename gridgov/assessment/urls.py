from django.urls import path

from . import views

app_name = "assessment"
urlpatterns = [
    path("", views.home, name="home"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("export.pdf", views.export_pdf, name="export_pdf"),
    path("config/", views.config, name="config"),
    path("exclusions/", views.exclusions, name="exclusions"),
    path("exclusions/<int:pk>/revoke/", views.revoke, name="revoke"),
    path("appeals/", views.appeals, name="appeals"),
    path("appeals/<int:pk>/decide/", views.decide, name="decide"),
]
