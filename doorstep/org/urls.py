from django.urls import path

from doorstep.org import calendar, views

app_name = "org"
urlpatterns = [
    path("", views.station_list, name="station_list"),
    path("stations/<int:pk>/", views.station_detail, name="station_detail"),
    path("grids/", views.grid_list, name="grid_list"),
    path("grids/<int:pk>/", views.grid_detail, name="grid_detail"),
    path("grids/<int:pk>/assign/", views.grid_assign, name="grid_assign"),
    path("assignments/<int:pk>/end/", views.assignment_end, name="assignment_end"),
    path("police-rooms/", views.police_room_list, name="police_room_list"),
    path("police-rooms/<int:pk>/edit/", views.police_room_edit, name="police_room_edit"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/new/", views.staff_new, name="staff_new"),
    path("staff/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/photo/", views.staff_photo, name="staff_photo"),
    path("staffing/", views.staffing, name="staffing"),
    path("approvals/", views.approvals, name="approvals"),
    path("calendar/", calendar.calendar_page, name="calendar"),
    path("calendar/set/", calendar.calendar_set, name="calendar_set"),
    path("calendar/<int:pk>/clear/", calendar.calendar_clear, name="calendar_clear"),
    path("departures/<int:pk>/decide/", views.departure_decide, name="departure_decide"),
    path("secondments/<int:pk>/decide/", views.secondment_decide, name="secondment_decide"),
]
