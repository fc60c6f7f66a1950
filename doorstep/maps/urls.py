from django.urls import path

from doorstep.maps import panel, views

app_name = "maps"
urlpatterns = [
    path("", views.map_page, name="map"),
    path("style.json", views.style_json, name="style"),
    path("houses/<int:pk>/panel/", panel.house_panel, name="house_panel"),
]
