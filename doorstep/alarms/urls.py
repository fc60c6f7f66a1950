from django.urls import path

from doorstep.alarms import pages, views

app_name = "alarms"
urlpatterns = [
    path("console/", views.console, name="console"),
    path("mine/", views.mine, name="mine"),
    path("<int:pk>/officers/", views.officers, name="officers"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/dispatch/", views.dispatch, name="dispatch"),
    path("<int:pk>/arrive/", views.arrive, name="arrive"),
    path("<int:pk>/close/", views.close, name="close"),
] + pages.urlpatterns
