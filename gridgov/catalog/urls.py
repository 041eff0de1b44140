from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("items/", views.items, name="items"),
    path("items/<str:code>/", views.item_edit, name="item_edit"),
    path("routing/", views.rules, name="rules"),
    path("routing/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("routing/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/periods/", views.period_add, name="period_add"),
    path("calendar/periods/<int:pk>/delete/", views.period_delete, name="period_delete"),
    path("calendar/days/", views.day_set, name="day_set"),
    path("calendar/days/<int:pk>/delete/", views.day_delete, name="day_delete"),
]
