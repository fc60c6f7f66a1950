from django.urls import path

from doorstep.mediation import rota_pages, views

app_name = "mediation"
urlpatterns = [
    path("", views.index, name="index"),
    path("list/", views.dispute_list, name="list"),
    path("new/", views.dispute_new, name="new"),
    path("stats/", views.statistics, name="stats"),
    path("types/", views.type_list, name="types"),
    path("types/new/", views.type_edit, name="type_new"),
    path("types/<int:pk>/edit/", views.type_edit, name="type_edit"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/onsite/", views.onsite, name="onsite"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/session/", views.session, name="session"),
    path("<int:pk>/agreement/", views.agreement_new, name="agreement"),
    path("<int:pk>/agreement/<int:aid>.pdf", views.agreement_pdf, name="agreement_pdf"),
    path("<int:pk>/no-agreement/", views.no_agreement, name="no_agreement"),
    path("<int:pk>/escalate/", views.escalate, name="escalate"),
    path("<int:pk>/refer/", views.refer, name="refer"),
    path("<int:pk>/referrals/<int:rid>/reply/", views.reply, name="reply"),
    path("<int:pk>/follow-up/", views.follow_up, name="follow_up"),
    path("rota/", rota_pages.rota_page, name="rota"),
    path("rota/<int:station_id>/", rota_pages.rota_page, name="rota_station"),
    path("rota/<int:station_id>/generate/", rota_pages.rota_generate, name="rota_generate"),
    path("rota/<int:station_id>/swap/", rota_pages.rota_swap, name="rota_swap"),
    path("rota/<int:station_id>/assign/", rota_pages.rota_assign, name="rota_assign"),
    path("rota/<int:station_id>/leave/", rota_pages.rota_leave, name="rota_leave"),
]
