from django.urls import path

from doorstep.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("two-factor/", views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/enrol/", views.two_factor_enrol, name="two_factor_enrol"),
    path("me/", views.account, name="account"),
    path("me/recovery-codes/", views.regenerate_recovery_codes, name="recovery_codes"),
    path("me/tokens/<int:pk>/revoke/", views.revoke_token, name="revoke_token"),
    path("users/", views.user_list, name="user_list"),
    path("users/<int:pk>/reset-two-factor/", views.user_reset_two_factor, name="user_reset_two_factor"),
    path("users/<int:pk>/unlock/", views.user_unlock, name="user_unlock"),
    path("users/<int:pk>/sessions/revoke/", views.user_revoke_sessions, name="user_revoke_sessions"),
    path("users/tokens/<int:pk>/revoke/", views.user_revoke_token, name="user_revoke_token"),
]
