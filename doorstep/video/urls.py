from doorstep.video import event_pages, pages, patrol

app_name = "video"
# pages.py: cameras, speakers, groups, zones, presets (and what every video page shares); event_pages.py:
# motion events and broadcasts; patrol.py: tours, runs, the patrol console and the live pictures.
urlpatterns = pages.urlpatterns + event_pages.urlpatterns + patrol.urlpatterns
