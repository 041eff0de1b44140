from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("", views.home, name="home"),
    path("persons/", views.person_list, name="persons"),
    path("persons/new/", views.person_new, name="person_new"),
    path("persons/export/", views.person_export, name="export"),
    path("persons/<int:pk>/", views.person_page, name="person"),
    path("persons/<int:pk>/unmask/<str:what>/", views.person_unmask, name="unmask"),
    path("import/", views.person_import, name="import"),
    path("import/template.<str:fmt>", views.person_template, name="template"),
    path("import/<str:kind>/template.<str:fmt>", views.record_template, name="record_template"),
    path("export/<str:kind>/", views.record_export, name="record_export"),
    path("households/", views.household_list, name="households"),
    path("households/<int:pk>/", views.household_page, name="household"),
    path("organisations/", views.organisation_list, name="organisations"),
    path("components/", views.component_list, name="components"),
    path("persons/<int:pk>/roles/", views.person_role_add, name="role_add"),
    path("persons/<int:pk>/roles/<str:role>/end/", views.person_role_end, name="role_end"),
    path("party/", views.party_list, name="party"),
    path("party/new/", views.party_new, name="party_new"),
    path("party/<int:pk>/", views.party_page, name="party_organisation"),
    path("party/<int:pk>/edit/", views.party_edit, name="party_edit"),
    path("roles/<str:role>/", views.role_holders, name="role_holders"),
]
