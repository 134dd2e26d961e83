"""Health and readiness checks, favicon, and what search engines see: robots.txt, the
sitemap and which pages ask not to be indexed."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue

from app.assets import asset_url
from app.database import database_answers
from app.lessons.store import catalog, content_store

bp = Blueprint("site", __name__)

# One visitor's own pages, staff pages and one-off forms: their robots meta tag says
# "noindex". Anonymous visitors (crawlers included) are sent to sign in from most of them.
PRIVATE_BLUEPRINTS = frozenset({"account", "admin", "instructor"})
PRIVATE_ENDPOINTS = frozenset({"auth.forgot_password", "auth.reset_password", "progress.reset"})
# Areas robots.txt asks crawlers to stay out of: private pages, password-reset links (their
# address is a secret) and the progress API that the lesson page's scripts call.
DISALLOWED_PATHS = ("/account", "/admin/", "/api/", "/auth/reset/", "/dashboard", "/instructor/")
SITEMAP_NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
# robots.txt and the sitemap change only when the content does.
SEO_FILES_MAX_AGE = 3600


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers, 503 otherwise (for load balancers and Docker)."""
    if database_answers():
        return jsonify(status="ok")
    return jsonify(status="unavailable", error="database unreachable"), 503


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """200 once this process can serve learners: the database answers and the content is loaded.

    ``lessons`` counts the lessons being served and ``errors`` the content problems that
    keep a lesson file from loading (the other lessons still serve). When not ready,
    ``reasons`` says why, and the answer is 503 so a load balancer holds traffic back.
    """
    store = content_store()
    reasons = []
    if not database_answers():
        reasons.append("database unreachable")
    lessons = errors = 0
    if not store.content_dir.is_dir():
        reasons.append("content directory not found")
    else:
        catalog = store.catalog()
        lessons = sum(len(course.lessons) for course in catalog.courses)
        errors = len(catalog.errors)
    if reasons:
        body = {"status": "unavailable", "lessons": lessons, "errors": errors, "reasons": reasons}
        return jsonify(body), 503
    return jsonify(status="ready", lessons=lessons, errors=errors)


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    return redirect(asset_url("favicon.svg"), code=301)


@bp.app_template_global()
def robots_directive() -> str:
    """The page's robots meta tag: "noindex" for private pages, "" (no tag) for the rest."""
    if request.blueprint in PRIVATE_BLUEPRINTS or request.endpoint in PRIVATE_ENDPOINTS:
        return "noindex"
    return ""


def absolute_url(endpoint: str, **values: Any) -> str:
    """The endpoint's full address, on ``SITE_URL`` when it is configured (as canonical links
    and mailed links are), else on the address of this request."""
    site_url = current_app.config["SITE_URL"].rstrip("/")
    if site_url:
        return site_url + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _public_file(body: str | bytes, content_type: str) -> Response:
    response = Response(body, content_type=content_type)
    response.cache_control.public = True
    response.cache_control.max_age = SEO_FILES_MAX_AGE
    return response


@bp.get("/robots.txt")
def robots() -> ResponseReturnValue:
    """Every public page may be crawled; private areas may not; where the sitemap is."""
    lines = ["User-agent: *"]
    lines += [f"Disallow: {path}" for path in DISALLOWED_PATHS]
    lines += ["Allow: /", "", f"Sitemap: {absolute_url('site.sitemap')}"]
    return _public_file("\n".join(lines) + "\n", "text/plain; charset=utf-8")


@bp.get("/sitemap.xml")
def sitemap() -> ResponseReturnValue:
    """The catalog, every course and every lesson that loads, by absolute address."""
    urlset = ElementTree.Element("urlset", xmlns=SITEMAP_NAMESPACE)
    addresses = [absolute_url("lessons.catalog_page")]
    for course in catalog().courses:
        addresses.append(absolute_url("lessons.course_page", course_slug=course.slug))
        addresses += [
            absolute_url("lessons.lesson_page", course_slug=course.slug, lesson_slug=lesson.slug)
            for lesson in course.lessons
        ]
    for address in addresses:
        ElementTree.SubElement(ElementTree.SubElement(urlset, "url"), "loc").text = address
    ElementTree.indent(urlset)
    body = ElementTree.tostring(urlset, encoding="utf-8", xml_declaration=True)
    return _public_file(body + b"\n", "application/xml; charset=utf-8")
