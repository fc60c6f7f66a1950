"""The staff side of the portal (网上警务), under /online/: the queue of what residents sent, appointment
slots, notices, surveys and their results, house-plate QR sheets."""

from doorstep.portal import inbox_pages, notice_pages, officer_pages, survey_pages

app_name = "online"
urlpatterns = [
    *inbox_pages.staff_urlpatterns,
    *notice_pages.staff_urlpatterns,
    *survey_pages.staff_urlpatterns,
    *officer_pages.staff_urlpatterns,
]
