from django.urls import path

from . import views

app_name = "grids"
urlpatterns = [
    path("map/", views.grid_map, name="map"),
    path("manage/", views.manage, name="manage"),
    path(
        "manage/<int:grid_id>/<str:op>/",
        views.operate,
        name="manage_op",
    ),
]
