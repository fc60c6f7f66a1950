"""The public portal, under /portal/ (portal.middleware: no staff session, strict CSP)."""

from doorstep.portal import officer_pages, public_pages, submit_pages, survey_pages

app_name = "portal"
urlpatterns = [
    *public_pages.urlpatterns,
    *officer_pages.urlpatterns,
    *submit_pages.urlpatterns,
    *survey_pages.urlpatterns,
]
