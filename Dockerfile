# The course platform as one container: gunicorn on port 8000, data in /app/instance.
#
#   docker build -t flask-course .
#   docker run --rm -e SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
#       -p 8000:8000 -v course-data:/app/instance flask-course

FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 APP_ENV=production PIP_NO_CACHE_DIR=1

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The application, the bundled course and the migrations (owned by root: read-only for the app).
COPY app/ ./app/
COPY content/ ./content/
COPY migrations/ ./migrations/
COPY docker-entrypoint.sh ./

# An unprivileged user; it may write only to the instance folder
# (SQLite database, rendered-lesson cache).
RUN useradd --create-home --uid 10001 app \
    && mkdir -p /app/instance \
    && chown app:app /app/instance
VOLUME ["/app/instance"]
USER app

EXPOSE 8000

# slim images have no curl; urlopen raises on connection errors and on the 503 of /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${PORT:-8000}/healthz', timeout=4)" || exit 1

ENTRYPOINT ["/app/docker-entrypoint.sh"]
