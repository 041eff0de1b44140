from django.contrib.auth.views import LogoutView
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.GridgovLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set_language"),
    path("people/", views.people, name="people"),
    path("people/new/", views.person_create, name="person_new"),
    path("people/grids/", views.grid_options, name="grid_options"),
    path("people/import/", views.people_import, name="people_import"),
    path("people/import/template.xlsx", views.import_template, name="people_import_template"),
    path("people/import/confirm/", views.people_import_confirm, name="people_import_confirm"),
    path("people/import/done/", views.people_import_done, name="people_import_done"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/edit/", views.person_update, name="person_update"),
    path("people/<int:pk>/assign/", views.person_assign, name="person_assign"),
    path("people/<int:pk>/revoke/<int:assignment_id>/", views.person_revoke, name="person_revoke"),
    path("people/<int:pk>/active/", views.person_active, name="person_active"),
    path("people/<int:pk>/unlock/", views.person_unlock, name="person_unlock"),
    path("people/<int:pk>/password/", views.person_password, name="person_password"),
]
