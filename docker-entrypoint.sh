#!/bin/sh
# Start the platform: apply migrations, render the course, then hand over to gunicorn.
#
# Used as the Docker image's entrypoint, and works the same on a machine with the
# requirements installed (flask and gunicorn on PATH). Configuration comes from the
# environment: SECRET_KEY, DATABASE_URL, INSTANCE_PATH, APP_ENV, PORT, WEB_CONCURRENCY, ...
set -eu

# Run from the project root (where this script lives): the `app` package is imported
# from here and Flask-Migrate looks for ./migrations. Relative INSTANCE_PATH and
# CONTENT_DIR values keep meaning "relative to where the script was started".
case "${INSTANCE_PATH:-}" in "" | /*) ;; *) export INSTANCE_PATH="$PWD/$INSTANCE_PATH" ;; esac
case "${CONTENT_DIR:-}" in "" | /*) ;; *) export CONTENT_DIR="$PWD/$CONTENT_DIR" ;; esac
cd "$(dirname "$0")"

export FLASK_APP="${FLASK_APP:-app:create_app}"
export FLASK_SKIP_DOTENV=1  # settings come from the environment, never from a .env file

# Bring the database schema up to date (creates the SQLite file on first start).
flask db upgrade

# Render every lesson into the cache in instance/ so that workers start warm.
flask content build

# --preload: the content is loaded once (app/wsgi.py) and shared by the workers.
exec gunicorn --bind "0.0.0.0:${PORT:-8000}" --workers "${WEB_CONCURRENCY:-2}" --preload app.wsgi:app
