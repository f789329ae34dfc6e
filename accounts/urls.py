from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("connexion/", views.LoginView.as_view(), name="login"),
    # Resolved before the admin's own URLs (portal/urls.py): no unthrottled way to try passwords.
    path("admin/login/", views.AdminLoginView.as_view(), name="admin_login"),
    path("connexion/code/", views.LoginCodeRequestView.as_view(), name="login_code_request"),
    path("connexion/code/saisie/", views.LoginCodeVerifyView.as_view(), name="login_code_verify"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("acces/<str:token>/", views.AccessLinkView.as_view(), name="access_link"),
    path("mot-de-passe/", views.PasswordChangeView.as_view(), name="password_change"),
    path("mot-de-passe-oublie/", views.PasswordResetView.as_view(), name="password_reset"),
    path("mot-de-passe-oublie/envoye/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "mot-de-passe-oublie/termine/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "mot-de-passe-oublie/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("identifiant-oublie/", views.IdentifiantReminderView.as_view(), name="identifiant_reminder"),
    path(
        "identifiant-oublie/envoye/",
        views.IdentifiantReminderDoneView.as_view(),
        name="identifiant_reminder_done",
    ),
]
