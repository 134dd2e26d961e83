"""Flask-WTF's CSRF protection, verifying each signed token once per worker.

Every form POST and JSON write sends the signed form of the session's CSRF token. With
``WTF_CSRF_TIME_LIMIT = None`` (our setting) a signed token never expires, so what its
signature proves never changes: that it was made from one raw token with our key. A worker
remembers the signed tokens it verified (or signed itself) and the raw token inside each;
a request whose token is remembered is valid when its session holds that raw token, as
Flask-WTF's ``validate_csrf`` would find, without decoding the signature again. A forged
token is never remembered: only a verified signature puts one there.

A JSON request's token comes from its header: its body is not parsed as a form to look
for one (it holds none). With a time limit configured, every request is verified by
Flask-WTF in full.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import current_app, g, request, session
from flask_wtf import csrf as flask_wtf_csrf

MAX_VERIFIED = 4096  # signed tokens a worker remembers; all go when full
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_verified: dict[tuple[Any, str], str] = {}  # (secret key, signed token): raw token


class CSRFProtect(flask_wtf_csrf.CSRFProtect):
    def protect(self, apply_exemptions: bool = False) -> None:
        config = current_app.config
        if request.method not in config["WTF_CSRF_METHODS"]:
            return None
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return None
        if config["WTF_CSRF_TIME_LIMIT"] is not None:
            return super().protect()
        signed = self._get_csrf_token()
        raw = session.get(config["WTF_CSRF_FIELD_NAME"])
        key = (_secret(), signed)
        known = _verified.get(key) if signed and isinstance(raw, str) else None
        if known is None or not hmac.compare_digest(known, raw):
            super().protect()  # verifies in full, or refuses (400)
            remember(signed, session[config["WTF_CSRF_FIELD_NAME"]])
            return None
        if request.is_secure and config["WTF_CSRF_SSL_STRICT"]:  # as Flask-WTF does
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not flask_wtf_csrf.same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True
        return None

    def _get_csrf_token(self) -> str | None:
        if request.mimetype in FORM_TYPES:
            return super()._get_csrf_token()  # type: ignore[no-any-return]
        for header in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header)
            if token:
                return token
        return None


def remember(signed: str, raw: str) -> None:
    """``signed`` is the signed form of ``raw``, verified or signed by this worker."""
    if current_app.config["WTF_CSRF_TIME_LIMIT"] is not None:
        return
    if len(_verified) >= MAX_VERIFIED:
        _verified.clear()
    _verified[(_secret(), signed)] = raw


def _secret() -> Any:
    return current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
