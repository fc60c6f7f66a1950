"""/registry/import/: import pages, templates, job progress, and the Excel export of every registry list."""

from django.urls import path

from doorstep.registry import import_views

urlpatterns = [
    path("", import_views.import_index, name="import_index"),
    path("template/<str:entity>/", import_views.import_template, name="import_template"),
    path("jobs/<str:job_id>/", import_views.import_job, name="import_job"),
    path("jobs/<str:job_id>/progress/", import_views.import_progress, name="import_progress"),
    path("jobs/<str:job_id>/confirm/", import_views.import_confirm, name="import_confirm"),
    path("jobs/<str:job_id>/report/", import_views.import_report, name="import_report"),
    path("export/<str:entity>/", import_views.export, name="export"),
]
