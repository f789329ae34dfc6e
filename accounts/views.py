from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.forms import LoginForm


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    extra_context = {"title": _("Se connecter")}


def signup(request):
    # The signup wizard arrives with its own issue; until then, say how to get an account.
    return render(request, "accounts/signup_unavailable.html", {"title": _("Créer un compte")})
