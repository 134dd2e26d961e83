"""Reference apps for the page benchmark: bare Flask on the same gunicorn settings.

``/hello`` is the smallest possible Flask response; ``/same`` returns the exact bytes of
our lesson page (read once at start-up), so the difference to our app is what templates,
content lookup and security middleware cost.
"""

import os
from pathlib import Path

from flask import Flask, Response

app = Flask(__name__)
_page = Path(os.environ.get("BENCH_PAGE_FILE", "/dev/null")).read_bytes()


@app.get("/hello")
def hello() -> str:
    return "Hello, World!"


@app.get("/same")
def same() -> Response:
    return Response(_page, content_type="text/html; charset=utf-8")
