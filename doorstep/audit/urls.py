from django.urls import path

from doorstep.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.log, name="log"),
    path("review/", views.weekly_review, name="review"),
    path("review/export/", views.weekly_review_export, name="review_export"),
]
