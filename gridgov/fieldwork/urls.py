from django.urls import path

from . import views

app_name = "fieldwork"
urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<int:pk>/", views.task_page, name="task"),
    path("tasks/<int:pk>/photos/<int:photo_id>", views.task_photo, name="task_photo"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("visits/", views.visit_list, name="visits"),
    path("visits/<uuid:key>/", views.visit_page, name="visit"),
    path("visits/<uuid:key>/photos/<int:photo_id>", views.visit_photo, name="visit_photo"),
    path("patrols/", views.patrol_list, name="patrols"),
]
