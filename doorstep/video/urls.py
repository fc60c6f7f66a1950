from doorstep.video import pages, patrol

app_name = "video"
# pages.py: cameras, speakers, groups, zones, presets, events, broadcasts; patrol.py: tours, runs, the patrol
# console and the live pictures.
urlpatterns = pages.urlpatterns + patrol.urlpatterns
