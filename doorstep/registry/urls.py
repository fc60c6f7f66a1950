from django.urls import include, path

app_name = "registry"
urlpatterns = [
    # Import/export pages live in their own module (doorstep/registry/import_urls.py).
    path("import/", include("doorstep.registry.import_urls")),
]
