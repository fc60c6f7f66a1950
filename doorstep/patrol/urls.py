from doorstep.patrol import dashboard, pages, run_pages

app_name = "patrol"
# Each page module lists its own routes (the run on the phone and plans; teams, zones, meetings and
# publicity; the dashboard and the map layers).
urlpatterns = [*dashboard.urlpatterns, *run_pages.urlpatterns, *pages.urlpatterns]
