"""The app as gunicorn serves it: ``gunicorn --preload 'app.wsgi:app'``.

The content is loaded here, before gunicorn forks its workers, and the objects made so
far are frozen out of the garbage collector's reach: the workers share the catalog's
pages with the master instead of each loading and holding a copy of every lesson.
"""

from __future__ import annotations

import gc

from app import create_app
from app.lessons.store import content_store

app = create_app()
with app.app_context():
    content_store().catalog()
gc.freeze()
