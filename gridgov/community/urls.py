from django.urls import path

from . import views

app_name = "community"
urlpatterns = [
    path("", views.home, name="home"),
    path("teams/", views.team_list, name="teams"),
    path("teams/new/", views.team_new, name="team_new"),
    path("teams/<int:pk>/", views.team_page, name="team"),
    path("teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("teams/<int:pk>/members/", views.member_add, name="member_add"),
    path("members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("activities/", views.activity_list, name="activities"),
    path("activities/new/", views.activity_new, name="activity_new"),
    path("activities/<int:pk>/", views.activity_page, name="activity"),
    path("activities/<int:pk>/sign-up/", views.activity_sign_up, name="activity_sign_up"),
    path(
        "activities/<int:pk>/cancel-sign-up/", views.activity_cancel_sign_up, name="activity_cancel_sign_up"
    ),
    path("activities/<int:pk>/attendance/", views.activity_attendance, name="activity_attendance"),
    path("activities/<int:pk>/close/", views.activity_close, name="activity_close"),
    path("activities/<int:pk>/cancel/", views.activity_cancel, name="activity_cancel"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/new/", views.task_new, name="task_new"),
    path("tasks/<int:pk>/", views.task_page, name="task"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task_cancel"),
]
