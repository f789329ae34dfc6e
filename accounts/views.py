import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from accounts import access, throttle
from accounts.forms import (
    IdentifiantReminderForm,
    LoginCodeForm,
    LoginCodeRequestForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    client_ip,
)
from accounts.passwords import change_password, password_expires_at, password_is_expired
from portal import audit

LOGIN_BACKEND = "accounts.backends.IdentifiantOrEmailBackend"
# What the session keeps of a pending code login: its id, the typed login (for the throttle),
# when it ends and where to go next. Never the code.
LOGIN_CODE_SESSION_KEY = "accounts.login_code"
PASSWORD_PAGE_TITLE_INVALID = gettext_lazy("Ce lien n'est plus valable")


def _safe_next(request, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    extra_context = {"title": gettext_lazy("Se connecter")}


class AdminLoginView(LoginView):
    """The administration's login page is the portal's: the same form, throttled the same way.

    Unlike the portal's page it does not send a logged-in user away: a user without access to
    the administration is sent here by it, and is told so instead of going round in circles.
    """

    redirect_authenticated_user = False


# Access link ------------------------------------------------------------------------------------


@method_decorator([sensitive_post_parameters(), never_cache], name="dispatch")
class AccessLinkView(FormView):
    """The page of the "Création de mon accès technique" link: the user chooses a password."""

    form_class = SetPasswordForm
    template_name = "accounts/access_link.html"

    def dispatch(self, request, *args, token, **kwargs):
        self.token = token
        self.user = access.read_access_token(token)
        if self.user is None:
            return self.render_invalid()
        return super().dispatch(request, *args, **kwargs)

    def render_invalid(self):
        context = {"title": PASSWORD_PAGE_TITLE_INVALID, "hours": settings.PORTAL_ACCESS_LINK_HOURS}
        return render(self.request, "accounts/access_link_invalid.html", context)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.user}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title=_("Création de mon accès technique"), account=self.user, **kwargs
        )

    def form_valid(self, form):
        user = access.use_access_link(
            token=self.token, raw_password=form.cleaned_data["new_password1"], request=self.request
        )
        if user is None:  # used meanwhile, by another tab
            return self.render_invalid()
        auth_login(self.request, user, backend=LOGIN_BACKEND)
        messages.success(self.request, _("Votre mot de passe est enregistré : vous êtes connecté."))
        return redirect(settings.LOGIN_REDIRECT_URL)


# Login by e-mailed code -------------------------------------------------------------------------


@method_decorator([sensitive_post_parameters(), never_cache], name="dispatch")
class LoginCodeRequestView(FormView):
    """Ask for a login code. The answer is the same whether an account matches or not."""

    form_class = LoginCodeRequestForm
    template_name = "accounts/login_code_request.html"
    extra_context = {"title": gettext_lazy("Recevoir un code de connexion")}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def get_context_data(self, **kwargs):
        next_url = _safe_next(self.request, self.request.POST.get("next") or self.request.GET.get("next"))
        return super().get_context_data(next=next_url, **kwargs)

    def form_valid(self, form):
        login = form.cleaned_data["login"]
        pending_id = access.send_login_code(login=login, request=self.request)
        minutes = settings.PORTAL_EMAIL_CODE["ttl_minutes"]
        self.request.session[LOGIN_CODE_SESSION_KEY] = {
            "id": str(pending_id),
            "login": throttle.normalise(login),
            "expires": int(time.time()) + minutes * 60,
            "next": _safe_next(self.request, self.request.POST.get("next")),
        }
        messages.info(
            self.request,
            ngettext(
                "Si un compte actif correspond à ce que vous avez saisi, un code de connexion vient "
                "d'être envoyé à son adresse électronique. Il est valable %(minutes)d minute.",
                "Si un compte actif correspond à ce que vous avez saisi, un code de connexion vient "
                "d'être envoyé à son adresse électronique. Il est valable %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
        )
        return redirect("login_code_verify")


@method_decorator([sensitive_post_parameters(), never_cache], name="dispatch")
class LoginCodeVerifyView(FormView):
    form_class = LoginCodeForm
    template_name = "accounts/login_code_verify.html"
    extra_context = {"title": gettext_lazy("Saisir le code de connexion")}

    def dispatch(self, request, *args, **kwargs):
        self.pending = request.session.get(LOGIN_CODE_SESSION_KEY)
        if not isinstance(self.pending, dict):
            return redirect("login_code_request")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        spent = _("Ce code n'est plus valable. Demandez un nouveau code.")
        if self.pending["expires"] <= time.time():
            form.add_error(None, spent)
            return self.form_invalid(form)
        try:
            attempt = throttle.begin_attempt(login=self.pending["login"], ip=client_ip(self.request))
        except throttle.Refused as refusal:
            form.add_error(None, refusal.message)
            return self.form_invalid(form)
        try:
            result = access.check_login_code(pending_id=self.pending["id"], code=form.cleaned_data["code"])
        except BaseException:
            throttle.release(attempt)
            raise
        if result.user is not None:
            throttle.record_success(attempt)
            return self.log_in(result.user)
        if result.spent:
            throttle.release(attempt)
            form.add_error(None, spent)
            return self.form_invalid(form)
        throttle.record_failure(attempt, request=self.request, method="code")
        if result.remaining:
            message = ngettext(
                "Code incorrect. Il vous reste %(remaining)d essai.",
                "Code incorrect. Il vous reste %(remaining)d essais.",
                result.remaining,
            ) % {"remaining": result.remaining}
        else:
            message = _("Code incorrect. Ce code n'est plus valable : demandez un nouveau code.")
        form.add_error("code", message)
        return self.form_invalid(form)

    def log_in(self, user):
        next_url = self.pending.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL)
        del self.request.session[LOGIN_CODE_SESSION_KEY]
        auth_login(self.request, user, backend=LOGIN_BACKEND)
        audit.record("login.code", actor=user, target=user, request=self.request)
        return HttpResponseRedirect(next_url)


# Forgotten password -----------------------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "accounts/password_reset_form.html"
    success_url = reverse_lazy("password_reset_done")
    token_generator = access.reset_token_generator
    title = gettext_lazy("Mot de passe oublié")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"
    title = gettext_lazy("Vérifiez votre messagerie")

    def get_context_data(self, **kwargs):
        return super().get_context_data(hours=settings.PORTAL_ACCESS_LINK_HOURS, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")
    token_generator = access.reset_token_generator
    title = gettext_lazy("Choisir un nouveau mot de passe")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not context.get("validlink"):
            context["title"] = PASSWORD_PAGE_TITLE_INVALID
        context["hours"] = settings.PORTAL_ACCESS_LINK_HOURS
        return context

    def form_valid(self, form):
        token = self.request.session.get(auth_views.INTERNAL_RESET_SESSION_TOKEN)
        with transaction.atomic():
            # Locked and checked again: the same link sent twice at once sets one password.
            user = get_user_model()._default_manager.select_for_update().get(pk=self.user.pk)
            if not self.token_generator.check_token(user, token):
                self.validlink = False
                return self.render_to_response(self.get_context_data())
            change_password(
                user=user,
                raw_password=form.cleaned_data["new_password1"],
                action="password.reset",
                request=self.request,
            )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
    title = gettext_lazy("Mot de passe enregistré")


# Forgotten identifiant --------------------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class IdentifiantReminderView(FormView):
    form_class = IdentifiantReminderForm
    template_name = "accounts/identifiant_reminder_form.html"
    extra_context = {"title": gettext_lazy("Identifiant oublié")}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        access.send_identifiant_reminder(email=form.cleaned_data["email"], request=self.request)
        return redirect("identifiant_reminder_done")


class IdentifiantReminderDoneView(TemplateView):
    template_name = "accounts/identifiant_reminder_done.html"
    extra_context = {"title": gettext_lazy("Vérifiez votre messagerie")}


# Password change --------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's password; where the middleware sends users whose password has expired."""

    form_class = PasswordChangeForm
    template_name = "accounts/password_change.html"
    title = gettext_lazy("Changer mon mot de passe")

    def next_url(self) -> str:
        return _safe_next(self.request, self.request.POST.get("next") or self.request.GET.get("next"))

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            expired=password_is_expired(user),
            expires_at=password_expires_at(user),
            max_age_days=settings.PORTAL_PASSWORD_POLICY.get("max_age_days"),
            next=self.next_url(),
            **kwargs,
        )

    def form_valid(self, form):
        user = form.user
        expired = password_is_expired(user)
        change_password(
            user=user,
            raw_password=form.cleaned_data["new_password1"],
            action="password.changed",
            request=self.request,
            details={"expired": expired},
        )
        update_session_auth_hash(self.request, user)
        messages.success(self.request, _("Votre mot de passe a été changé."))
        return HttpResponseRedirect(self.next_url() or reverse("home"))
