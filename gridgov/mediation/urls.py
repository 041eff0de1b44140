from django.urls import path

from . import views

app_name = "mediation"
urlpatterns = [
    path("", views.home, name="home"),
    path("disputes/", views.dispute_list, name="disputes"),
    path("disputes/new/", views.dispute_new, name="dispute_new"),
    path("disputes/<str:number>/", views.dispute_page, name="dispute"),
    path("disputes/<str:number>/parties/", views.party_add, name="party_add"),
    path("disputes/<str:number>/parties/<int:party_id>/", views.party_edit, name="party_edit"),
    path("disputes/<str:number>/assign/", views.assign, name="assign"),
    path("disputes/<str:number>/sessions/", views.session_new, name="session_new"),
    path("disputes/<str:number>/outcome/", views.outcome, name="outcome"),
    path("disputes/<str:number>/follow-ups/<int:follow_up_id>/", views.follow_up, name="follow_up"),
    path("disputes/<str:number>/refer-up/", views.refer_up, name="refer_up"),
    path("disputes/<str:number>/hand-over/", views.hand_over, name="hand_over"),
    path("disputes/<str:number>/agreement.pdf", views.agreement_document, name="agreement_pdf"),
    path("disputes/<str:number>/record.pdf", views.record_document, name="record_pdf"),
    path("persons/", views.person_lookup, name="person_lookup"),
    path("committees/", views.committee_list, name="committees"),
    path("committees/<int:pk>/", views.committee_page, name="committee"),
]
