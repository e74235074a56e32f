# Production-like image: one image runs migrate, web, worker and beat (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app
WORKDIR /app
# Every app of the portal and its dependencies (pyproject.toml names each package).
COPY . .
RUN pip install --no-cache-dir .
# Static files with hashed names and compressed copies, served by WhiteNoise.
RUN DJANGO_DEBUG=1 DJANGO_STATIC_MANIFEST=1 python manage.py collectstatic --noinput -v0 \
    && rm -rf var \
    && useradd --system --home /app portal && chown -R portal /app \
    && mkdir /checkpoints && chown portal /checkpoints
# From here on DJANGO_DEBUG=1 is refused (portal/settings.py).
ENV PORTAL_PRODUCTION=1
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--config", "portal/gunicorn.conf.py"]
