from django.urls import include, path

from doorstep.registry import concern_views, views

app_name = "registry"
urlpatterns = [
    path("", views.index, name="index"),
    path("addresses/", views.address_list, name="address_list"),
    path("addresses/new/", views.address_new, name="address_new"),
    path("addresses/<int:pk>/", views.address_detail, name="address_detail"),
    path("addresses/<int:pk>/edit/", views.address_edit, name="address_edit"),
    path("addresses/<int:pk>/review/", views.address_review, name="address_review"),
    path("houses/", views.house_list, name="house_list"),
    path("houses/new/", views.house_new, name="house_new"),
    path("houses/<int:pk>/", views.house_detail, name="house_detail"),
    path("houses/<int:pk>/edit/", views.house_edit, name="house_edit"),
    path("households/", views.household_list, name="household_list"),
    path("households/new/", views.household_new, name="household_new"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/visit/", views.household_visit, name="household_visit"),
    path("households/<int:pk>/members/", views.household_member_add, name="household_member_add"),
    path(
        "households/<int:pk>/members/<int:person_pk>/remove/",
        views.household_member_remove,
        name="household_member_remove",
    ),
    path("visits/<int:pk>/photo/", views.visit_photo, name="visit_photo"),
    path("persons/", views.person_list, name="person_list"),
    path("persons/new/", views.person_new, name="person_new"),
    path("persons/<int:pk>/", views.person_detail, name="person_detail"),
    path("persons/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("persons/<int:pk>/concerns/", concern_views.concern_request, name="concern_request"),
    path("units/", views.unit_list, name="unit_list"),
    path("units/new/", views.unit_new, name="unit_new"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path("concerns/", concern_views.concern_list, name="concern_list"),
    path("concerns/approvals/", concern_views.concern_approvals, name="concern_approvals"),
    path("concerns/<int:pk>/delist/", concern_views.concern_delist, name="concern_delist"),
    path("concerns/<int:pk>/reclass/", concern_views.concern_reclass, name="concern_reclass"),
    path("concerns/<int:pk>/transfer/", concern_views.concern_transfer, name="concern_transfer"),
    path("concerns/<int:pk>/decide/", concern_views.concern_decide, name="concern_decide"),
    path("todo/", views.todo, name="todo"),
    path("search/", views.search_page, name="search"),
    path("rules/", views.rules_edit, name="rules"),
    # Import/export pages live in their own module (doorstep/registry/import_urls.py).
    path("import/", include("doorstep.registry.import_urls")),
]
