from doorstep.duty import pages, training_pages

app_name = "duty"
urlpatterns = pages.urlpatterns + training_pages.urlpatterns
