"""The signup wizard (four steps, one URL each), then the e-mail code page."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from formtools.wizard.storage.session import SessionStorage
from formtools.wizard.views import NamedUrlSessionWizardView, normalize_name

from accounts import signup_forms
from accounts.enums import Civilite
from accounts.models import PendingSignup
from accounts.services import SignupError, resend_signup_code, start_signup, verify_signup_code
from accounts.signup_forms import organisation_search_context
from accounts.validators import display_phone
from organisations.enums import OPEN_CLAIM_STATUSES
from organisations.models import Membership
from organisations.onboarding import offers_admin_role, waits_for_organisation_admin
from organisations.referentials import departement_name
from organisations.search import get_searchable

STEP_FUNCTION = "fonction"
STEP_ORGANISATION = "organisme"
STEP_CONTACT = "coordonnees"
STEP_CONFIRMATION = "confirmation"

STEP_TITLES = {
    STEP_FUNCTION: _("Votre fonction et votre identité"),
    STEP_ORGANISATION: _("Votre organisme de rattachement"),
    STEP_CONTACT: _("Vos coordonnées"),
    STEP_CONFIRMATION: _("Confirmation"),
}
CAPTCHA_SOLVED = "captcha_solved"
SUMMARY = "summary"
ORGANISATION = "organisation"


class SignupStorage(SessionStorage):
    """formtools marks the session modified whenever it reads the wizard's data, so that every page
    of the wizard, even shown again unchanged, rewrote the session row (a transaction and a flush
    on each GET). Here only what changes the data marks it."""

    def __init__(self, prefix, request=None, file_storage=None):
        # A visitor's first look at the wizard: an empty wizard is no news, not worth a session (a
        # row and a cookie) before they answer anything. Their first answer creates it.
        first_look = f"wizard_{prefix}" not in request.session
        modified = request.session.modified
        super().__init__(prefix, request, file_storage)
        if first_look:
            request.session.modified = modified

    def _get_data(self):
        return self.request.session[self.prefix]

    data = property(_get_data, SessionStorage._set_data)

    def changed(self):
        self.request.session.modified = True

    def _set_current_step(self, step):
        if step != (self._get_current_step() or STEP_FUNCTION):  # None stands for the first step
            super()._set_current_step(step)
            self.changed()

    def _set_extra_data(self, extra_data):
        if extra_data != self._get_extra_data():
            super()._set_extra_data(extra_data)
            self.changed()

    def set_step_data(self, step, cleaned_data):
        super().set_step_data(step, cleaned_data)
        self.changed()

    def forget_step_data(self, step):
        self.data[self.step_data_key].pop(step, None)
        self.changed()


class SignupWizard(NamedUrlSessionWizardView):
    storage_name = "accounts.signup_views.SignupStorage"
    form_list = [
        (STEP_FUNCTION, signup_forms.FunctionIdentityForm),
        (STEP_ORGANISATION, signup_forms.OrganisationForm),
        (STEP_CONTACT, signup_forms.ContactForm),
        (STEP_CONFIRMATION, signup_forms.ConfirmationForm),
    ]

    def get_template_names(self):
        return [f"accounts/signup/{self.steps.current}.html"]

    # Steps ------------------------------------------------------------------------------------

    def get_form(self, step=None, data=None, files=None):
        form = super().get_form(step=step, data=data, files=files)
        # The image was solved when the confirmation was posted; the revalidation of every step
        # that follows (formtools' render_done) must not ask for it again.
        if (step or self.steps.current) == STEP_CONFIRMATION and self.storage.extra_data.get(CAPTCHA_SOLVED):
            del form.fields["captcha"]
        if (step or self.steps.current) == STEP_CONTACT and form.is_bound:
            # The identifiant's rules name the organisation: read when the answers are checked.
            form.establishment = self._chosen_establishment()
        return form

    def get_form_kwargs(self, step=None):
        kwargs = super().get_form_kwargs(step)
        if step == STEP_CONTACT:
            kwargs["waits_for_admin"] = self._waits_for_admin()
        elif step == STEP_CONFIRMATION:
            kwargs["offers_admin_role"] = self._offers_admin_role()
        return kwargs

    # What the steps ask of the organisation, once per request: a page of the wizard builds and
    # validates several steps' forms. The completion decides again, under the organisation's lock.

    def _offers_admin_role(self) -> bool:
        """R3: the applicant would be the organisation's first user, offered its admin role."""
        contact = self.storage.get_step_data(STEP_CONTACT) or {}
        email = (contact.get(f"{STEP_CONTACT}-email") or "").strip().lower()
        if not (self._chosen_siret() and email) or self._waits_for_admin():
            return False  # R1 decides: an admin or their claim is there already
        establishment = self._chosen_establishment()
        if establishment is None:
            return False
        return self._memo(
            ("offers_admin_role", establishment.siret, email),
            offers_admin_role,
            establishment=establishment,
            email=email,
        )

    def _waits_for_admin(self) -> bool:
        siret = self._chosen_siret()
        if not siret:
            return False
        # A SIRET begins with its organisation's SIREN.
        return self._memo(("waits_for_admin", siret), waits_for_organisation_admin, siret[:9])

    def _memo(self, key, function, *args, **kwargs):
        memo = self.__dict__.setdefault("_request_memo", {})
        if key not in memo:
            memo[key] = function(*args, **kwargs)
        return memo[key]

    def get_form_initial(self, step):
        if step == STEP_CONTACT:
            organisation = self._organisation()
            if organisation:
                return {key: organisation[key] for key in CONTACT_FROM_ORGANISATION}
        return super().get_form_initial(step)

    def process_step(self, form):
        step = self.steps.current
        data = super().process_step(form).copy()
        if step in (STEP_FUNCTION, STEP_CONTACT):
            # What the confirmation shows, written once from the answers just validated: showing it
            # validated steps 1 and 3 again (a dozen queries) at each visit. The confirmation's
            # post validates every step again, as formtools does.
            summary = {**self.storage.extra_data.get(SUMMARY, {}), step: summarise(step, form.cleaned_data)}
            self.storage.extra_data = {**self.storage.extra_data, SUMMARY: summary}
        if step == STEP_CONFIRMATION:
            self.storage.extra_data = {**self.storage.extra_data, CAPTCHA_SOLVED: True}
            for key in [key for key in data if key.startswith(f"{STEP_CONFIRMATION}-captcha")]:
                del data[key]
        else:
            # Any change before the confirmation asks for a new image.
            self.storage.extra_data = {**self.storage.extra_data, CAPTCHA_SOLVED: False}
        if step == STEP_ORGANISATION:
            # The establishment chosen, as steps 3 and 4 show it (not read again at each visit).
            self.storage.extra_data = {**self.storage.extra_data, ORGANISATION: describe(form.establishment)}
            previous = self.storage.get_step_data(STEP_ORGANISATION) or {}
            if previous.get(f"{STEP_ORGANISATION}-siret") != form.cleaned_data["siret"]:
                # Another organisation: its address replaces the one typed for the previous one.
                self.storage.forget_step_data(STEP_CONTACT)
                summary = {**self.storage.extra_data.get(SUMMARY, {})}
                summary.pop(STEP_CONTACT, None)
                self.storage.extra_data = {**self.storage.extra_data, SUMMARY: summary}
        return data

    def post(self, *args, **kwargs):
        posted_step = self.request.POST.get(f"{self.prefix}-current_step")
        if posted_step is not None and posted_step not in self.get_form_list():
            # A tampered management form: back to where this visitor really is.
            return redirect(self.get_step_url(self.steps.current))
        if posted_step is not None and posted_step != self.steps.current and self.storage.current_step:
            # A page the browser kept (its back button): the step posted is the step answered, as
            # formtools itself decides, but before the search and the new image look at it.
            self.storage.current_step = posted_step
        if self.steps.current == STEP_ORGANISATION and (
            self.request.POST.get("action") == "search" or "page" in self.request.POST
        ):
            return self._render_search()
        if self.steps.current == STEP_CONFIRMATION and "new_captcha" in self.request.POST:
            # A new image without JavaScript: show the step again, answers untouched.
            form = self.get_form(data=None)
            form.initial = {"accept_cgu": self.request.POST.get(f"{STEP_CONFIRMATION}-accept_cgu") == "on"}
            return self.render(form)
        return super().post(*args, **kwargs)

    def _render_search(self):
        form = self.get_form(data=self.request.POST)
        form.is_valid()
        # The search's own errors replace the "choose an establishment" one.
        form.errors.pop("siret", None)
        data = self.request.POST.copy()
        self.storage.set_step_data(
            STEP_ORGANISATION, {key: data.getlist(key) for key in data if key.startswith(STEP_ORGANISATION)}
        )
        return self.render(form, search_requested=True)

    # Rendering --------------------------------------------------------------------------------

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        steps = list(self.get_form_list())
        index = steps.index(self.steps.current)
        context["title"] = STEP_TITLES[self.steps.current]
        context["stepper"] = {
            "current_step_id": index + 1,
            "current_step_title": STEP_TITLES[self.steps.current],
            "next_step_title": STEP_TITLES[steps[index + 1]] if index + 1 < len(steps) else "",
            "total_steps": len(steps),
        }
        context["previous_step"] = steps[index - 1] if index else None
        # formtools' management form, written in the page (the same field, without rendering a form).
        context["step_field"] = f"{self.prefix}-current_step"
        if self.steps.current == STEP_FUNCTION and "flags" in form.fields:
            context["flag_categories"] = form.flag_categories
        if self.steps.current == STEP_ORGANISATION:
            context.update(self._organisation_context(form, kwargs.get("search_requested", False)))
        if self.steps.current == STEP_CONFIRMATION:
            context["summary"] = self._summary()
            context["audio_available"] = bool(settings.CAPTCHA_SPEECH_COMMAND)
            context["waits_for_admin"] = self._waits_for_admin()
        return context

    def _organisation_context(self, form, search_requested):
        data = form.data if form.is_bound else (self.storage.get_step_data(STEP_ORGANISATION) or {})
        return organisation_search_context(
            form,
            data=data,
            page=self.request.POST.get("page", 1),
            search_requested=search_requested,
            chosen=self._chosen_establishment(),
        )

    def _chosen_siret(self) -> str:
        data = self.storage.get_step_data(STEP_ORGANISATION) or {}
        return data.get(f"{STEP_ORGANISATION}-siret") or ""

    def _chosen_establishment(self):
        siret = self._chosen_siret()
        return self._memo(("establishment", siret), get_searchable, siret) if siret else None

    def _organisation(self) -> dict:
        """The establishment chosen at step 2 as it was then; read again for a wizard begun before
        it was kept."""
        kept = self.storage.extra_data.get(ORGANISATION)
        if kept and kept["siret"] == self._chosen_siret():
            return kept
        establishment = self._chosen_establishment()
        return describe(establishment) if establishment else {}

    def _summary(self):
        kept = self.storage.extra_data.get(SUMMARY, {})

        def answers(step):
            if step in kept:
                return kept[step]
            cleaned = self.get_cleaned_data_for_step(step)  # a wizard begun before the summary was kept
            return summarise(step, cleaned) if cleaned else {}

        function = answers(STEP_FUNCTION)
        return {
            "function": function,
            "civilite_label": dict(Civilite.choices).get(function.get("civilite"), ""),
            "organisation": self._organisation(),
            "contact": answers(STEP_CONTACT),
        }

    # Done -------------------------------------------------------------------------------------

    def done(self, form_list, form_dict, **kwargs):
        function = form_dict[STEP_FUNCTION].cleaned_data
        contact = form_dict[STEP_CONTACT].cleaned_data
        data = {
            "category": function["category"].pk,
            "function": function["function"].pk,
            "title": function["title"],
            "flags": [flag.pk for flag in function.get("flags", [])],
            "civilite": function["civilite"],
            "first_name": function["first_name"],
            "last_name": function["last_name"],
            "siret": form_dict[STEP_ORGANISATION].cleaned_data["siret"],
            "departement": contact["departement"],
            "address": contact["address"],
            "address_complement": contact["address_complement"],
            "postal_code": contact["postal_code"],
            "city": contact["city"],
            "email": contact["email"],
            "phone_landline": contact["phone_landline"],
            "phone_mobile": contact["phone_mobile"],
            "cgu_version": settings.PORTAL_CGU_VERSION,
            "identifiant": contact.get("identifiant", ""),
            "services": [service.pk for service in contact.get("services") or []],
            "accepts_admin_role": form_dict[STEP_CONFIRMATION].cleaned_data.get("accept_admin_role", False),
        }
        try:
            pending = start_signup(data=data, request=self.request)
        except SignupError as error:
            return render(
                self.request,
                "accounts/signup/refused.html",
                {"message": str(error), "title": _("Créer un compte")},
            )
        self.request.session["signup_token"] = str(pending.token)
        return redirect("signup_code", token=pending.token)


CONTACT_FROM_ORGANISATION = ["departement", "address", "address_complement", "postal_code", "city"]


def describe(establishment) -> dict:
    """An establishment as the wizard's last steps show it (kept in the session)."""
    return {
        "siret": establishment.siret,
        "name": establishment.display_name,
        "departement": establishment.departement,
        "address": establishment.street_address,
        "address_complement": establishment.address_complement,
        "postal_code": establishment.postal_code,
        "city": establishment.city,
    }


def summarise(step: str, cleaned: dict) -> dict:
    """A step's answers as the confirmation shows them, as text (kept in the session)."""
    if step == STEP_FUNCTION:
        return {
            "category": str(cleaned["category"]),
            "function": str(cleaned["function"]),
            "title": cleaned["title"],
            "flags": [str(flag) for flag in cleaned.get("flags") or []],
            "civilite": cleaned["civilite"],
            "first_name": cleaned["first_name"],
            "last_name": cleaned["last_name"],
        }
    return {
        "departement_label": departement_name(cleaned["departement"]),
        "address": cleaned["address"],
        "address_complement": cleaned["address_complement"],
        "postal_code": cleaned["postal_code"],
        "city": cleaned["city"],
        "email": cleaned["email"],
        "phone_landline": display_phone(cleaned["phone_landline"]),
        "phone_mobile": display_phone(cleaned["phone_mobile"]),
        "identifiant": cleaned.get("identifiant", ""),
        "services": [str(service) for service in cleaned.get("services") or []],
    }


signup_wizard = SignupWizard.as_view(url_name="signup_step", done_step_name="termine")


def signup_start(request):
    """/inscription/: the first step, answers kept; /inscription/?recommencer starts afresh."""
    if "recommencer" in request.GET:
        request.session.pop(f"wizard_{normalize_name(SignupWizard.__name__)}", None)
    return redirect(reverse("signup_step", kwargs={"step": STEP_FUNCTION}))


def _pending_or_404(request, token) -> PendingSignup:
    # The code page belongs to the browser that confirmed the wizard.
    if request.session.get("signup_token") != str(token):
        raise Http404
    pending = get_object_or_404(PendingSignup, token=token)
    max_age = timezone.timedelta(hours=settings.PORTAL_PENDING_SIGNUP_HOURS)
    if pending.completed_at is None and timezone.now() - pending.created_at > max_age:
        raise Http404
    return pending


@require_http_methods(["GET", "POST"])
def signup_code(request, token):
    pending = _pending_or_404(request, token)
    if pending.completed_at:
        return redirect("signup_result", token=token)
    form = signup_forms.CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and "resend" in request.POST:
        try:
            resend_signup_code(pending=pending, request=request)
        except SignupError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Un nouveau code vous a été envoyé."))
        return redirect("signup_code", token=token)
    if request.method == "POST" and form.is_valid():
        try:
            verify_signup_code(pending=pending, code=form.cleaned_data["code"], request=request)
        except SignupError as error:
            form.add_error("code", str(error))
        else:
            return redirect("signup_result", token=token)
    context = {
        "form": form,
        "pending": pending,
        "code_length": settings.PORTAL_EMAIL_CODE["length"],
        "title": _("Confirmez votre adresse électronique"),
    }
    return render(request, "accounts/signup/code.html", context)


def signup_result(request, token):
    pending = _pending_or_404(request, token)
    if not pending.completed_at:
        return redirect("signup_code", token=token)
    membership = get_object_or_404(
        Membership.objects.select_related("legal_unit", "user"), pk=pending.data["membership_id"]
    )
    context = {
        "membership": membership,
        "already_registered": not pending.data.get("created", True),
        "notice": pending.data.get("notice", ""),
        "status": membership.status,
        "claim": membership.admin_claims.filter(status__in=OPEN_CLAIM_STATUSES).first(),
        "has_admin": Membership.objects.filter(
            legal_unit_id=membership.legal_unit_id, is_admin=True
        ).exists(),
        "title": _("Votre inscription"),
    }
    return render(request, "accounts/signup/result.html", context)
