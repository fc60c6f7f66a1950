from django.urls import path

from doorstep.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("me/", views.account, name="account"),
    path("me/tokens/<int:pk>/revoke/", views.revoke_token, name="revoke_token"),
]
