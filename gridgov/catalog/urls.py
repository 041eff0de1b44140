from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("items/", views.items, name="items"),
    path("routing/", views.rules, name="rules"),
    path("calendar/", views.calendar, name="calendar"),
]
