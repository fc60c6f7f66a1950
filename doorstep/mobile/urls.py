from doorstep.mobile import pwa_views, sync_views, workspace_views

app_name = "mobile"

urlpatterns = [*pwa_views.urlpatterns, *workspace_views.urlpatterns, *sync_views.urlpatterns]
