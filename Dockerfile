# Production-like image: one image runs the web, worker and beat processes.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY portal ./portal
COPY assignments ./assignments
COPY consent ./consent
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_DEBUG=1 python manage.py collectstatic --noinput \
    && useradd --system --home /app portal && chown -R portal /app
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
