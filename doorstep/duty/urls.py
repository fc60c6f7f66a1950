from doorstep.duty import field_pages, pages, station_pages, training_pages

app_name = "duty"
urlpatterns = (
    pages.urlpatterns + training_pages.urlpatterns + field_pages.urlpatterns + station_pages.urlpatterns
)
