from django.urls import path

from doorstep.alarms import pages, views

app_name = "alarms"
urlpatterns = [
    path("console/", views.console, name="console"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/close/", views.close, name="close"),
] + pages.urlpatterns
