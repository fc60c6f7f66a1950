from django.urls import path

from doorstep.desk import inspection_pages, views

app_name = "desk"
urlpatterns: list = [
    path("", views.index, name="index"),
    path("rooms/<int:pk>/", views.room, name="room"),
    path("rooms/<int:pk>/new/<str:kind>/", views.intake_new, name="intake_new"),
    path("items/", views.item_list, name="item_list"),
    path("items/<int:pk>/", views.item, name="item"),
    path("items/<int:pk>/transition/", views.item_transition, name="item_transition"),
    path("items/<int:pk>/documents/", views.item_documents, name="item_documents"),
    path("items/<int:pk>/assign/", views.item_assign, name="item_assign"),
    path("items/<int:pk>/receipt/", views.receipt, name="receipt"),
    path("lookup/", views.lookup, name="lookup"),
    path("types/", views.type_list, name="type_list"),
    path("types/new/", views.type_new, name="type_new"),
    path("types/<int:pk>/edit/", views.type_edit, name="type_edit"),
]
urlpatterns += inspection_pages.urlpatterns
