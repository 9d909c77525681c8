"""`create_app`: the only place that wires the application together."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from idp import db as database
from idp import keys as idp_keys
from idp import mail, web
from idp.core import notices, ratelimit
from idp.core import store as core_store
from idp.core.store import make_store
from idp.identity import sessions
from idp.identity.sessions import SessionService
from idp.keys import key_store
from idp.keys import saml as saml_keys
from idp.mail import Mailer
from idp.oauth import discovery, metadata_documents
from idp.oauth.server import Server
from idp.oauth.tokens import TokenService
from idp.settings import ROOT, Settings
from idp.web import lean


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        "idp",
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(settings.instance_dir.resolve()),
    )
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SESSION_COOKIE_NAME="__Host-idp_form" if settings.is_https else "idp_form",
        SESSION_COOKIE_SECURE=settings.is_https,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the form cookie
        WTF_CSRF_SSL_STRICT=settings.is_https,
        MAX_CONTENT_LENGTH=1024 * 1024,
        PREFERRED_URL_SCHEME="https" if settings.is_https else "http",
    )
    database.init_app(app)
    with app.app_context():
        notices.init_app(app, database.db.engine, settings.database_notifications)
    app.extensions["idp.settings"] = settings
    store = make_store(settings.redis_url, settings.redis_prefix)
    core_store.init_app(app, store)
    keys = key_store(settings)
    keys.ensure_key()
    idp_keys.init_app(app, keys)
    saml_store = saml_keys.saml_key_store(settings, keys)
    saml_store.ensure_key()
    saml_keys.init_app(app, saml_keys.SamlCredentials(saml_store, settings.issuer))
    sessions.init_app(
        app, SessionService(store, ttl=settings.session_ttl, remember_ttl=settings.remember_ttl)
    )
    mail.init_app(app, Mailer(settings))
    access_keys = idp_keys.access_key_store(settings)
    if access_keys is not None:
        access_keys.ensure_key()
    tokens = TokenService(
        keys,
        settings.issuer,
        settings.secret_key,
        max_lifetime=settings.max_token_lifetime,
        access_keys=access_keys,
    )
    Server(settings, tokens, store, metadata_documents.from_settings(settings, store)).init_app(app)
    app.extensions["idp.oauth.discovery"] = discovery.serialized(
        settings.issuer,
        registration=settings.registration != "off",
        metadata_documents=settings.client_metadata_documents,
    )
    limiter = ratelimit.init_app(app, settings)
    web.init_app(app, limiter)
    lean.init_app(app)  # the hot endpoints, in front of Flask's request handling
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.proxy_hops,
            x_proto=settings.proxy_hops,
            x_host=settings.proxy_hops,
        )
    mount_under_issuer_path(app, settings)
    return app


def mount_under_issuer_path(app: Flask, settings: Settings) -> None:
    """An issuer with a path (https://example.com/tenant) serves the app under that path, and
    the RFC 8414 §3.1 path-inserted metadata URLs at the host's root."""
    path = urlsplit(settings.issuer).path.rstrip("/")
    if not path:
        return
    well_known = {
        f"/.well-known/oauth-authorization-server{path}",
        f"/.well-known/openid-configuration{path}",
    }
    root = Flask("idp-root")

    @root.get("/<path:anything>")
    def serve(anything: str) -> Response:
        if "/" + anything not in well_known:
            return Response(status=404)
        with app.app_context():
            metadata = discovery.app_metadata()
        response = Response(metadata, mimetype="application/json")
        response.headers["Cache-Control"] = f"public, max-age={settings.jwks_max_age}"
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    app.wsgi_app = DispatcherMiddleware(root.wsgi_app, {path: app.wsgi_app})  # type: ignore[method-assign]
