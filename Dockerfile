# kodoku-portal production image: gunicorn serving Django (static files through whitenoise).
# The same image runs the one-shot migration, the Celery worker and Celery beat
# (see docker-compose.yml); every setting comes from the environment.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=kodoku_portal.settings \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    DJANGO_PRIVATE_ROOT=/app/var/private \
    WEB_CONCURRENCY=3

# Shared libraries WeasyPrint 70 loads at run time through cffi (gobject, pango, harfbuzz,
# harfbuzz-subset, fontconfig, pangoft2). The Japanese PDF fonts ship in static/fonts/.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libglib2.0-0 \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        shared-mime-info \
    && rm -rf /var/lib/apt/lists/*

# Unprivileged user; it has a home directory because gunicorn puts its control socket there.
RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --home-dir /home/app --create-home \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Runtime dependencies only (requirements-dev.txt is for development and CI).
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Compile the message catalogues and collect the static files into the image. The secret key
# is a throwaway that exists only for these commands (it is not kept in the image's ENV).
# DJANGO_MANIFEST_STATIC=1 builds the hashed manifest that production (DJANGO_HTTPS=1) reads.
RUN DJANGO_SECRET_KEY=build-time-only-not-a-secret DJANGO_MANIFEST_STATIC=1 \
        python manage.py compile_catalogues \
    && DJANGO_SECRET_KEY=build-time-only-not-a-secret DJANGO_MANIFEST_STATIC=1 \
        python manage.py collectstatic --noinput \
    && python -m compileall -q kodoku_portal accounts grants applications reviews \
    && mkdir -p /app/var/private \
    && chown -R app:app /app/var

USER app

# Uploaded attachments and generated PDFs (private, served only through permission checks).
VOLUME ["/app/var/private"]

EXPOSE 8000

# Workers: WEB_CONCURRENCY (gunicorn reads it); extra flags: GUNICORN_CMD_ARGS.
# The timeout leaves room for PDF generation; workers are recycled to bound memory growth.
CMD ["gunicorn", "kodoku_portal.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--timeout", "60", \
     "--graceful-timeout", "30", \
     "--keep-alive", "5", \
     "--max-requests", "1000", \
     "--max-requests-jitter", "100", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-"]
