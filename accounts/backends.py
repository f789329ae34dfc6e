from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q


class IdentifiantOrEmailBackend(ModelBackend):
    """Log in with the identifiant or the e-mail address, without regard to case."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        user_model = get_user_model()
        login = username.strip()
        candidates = list(
            user_model._default_manager.filter(Q(identifiant__iexact=login) | Q(email__iexact=login))[:2]
        )
        if len(candidates) != 1:
            # Unknown, or an e-mail shared by several accounts: run the hasher anyway so that the
            # response time does not tell whether the account exists.
            user_model().set_password(password)
            return None
        user = candidates[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
