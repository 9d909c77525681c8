"""The console's list of SSO domain claims waiting for verification, and the operator's
approval of one (for an organization that cannot publish a DNS record)."""

from __future__ import annotations

from flask import Flask, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from idp.core.audit import acting_admin
from idp.errors import IdpError
from idp.federation.sso import domains
from idp.web.admin import admin_required, bp, current_admin


@bp.get("/sso-domains")
@admin_required
def sso_domains() -> str:
    return render_template("admin/sso_domains.html", pending=domains.pending())


@bp.post("/sso-domains/<int:domain_id>/approve")
@admin_required
def approve_sso_domain(domain_id: int) -> Response | tuple[str, int]:
    admin = current_admin()
    try:
        with acting_admin(admin.email):
            row = domains.approve(admin, domain_id)
    except IdpError as error:
        page = render_template(
            "admin/sso_domains.html", pending=domains.pending(), error=error.message
        )
        return page, error.status
    flash(f"{row.domain} is verified for its organization.")
    return redirect(url_for("admin.sso_domains"), 303)


def init_app(app: Flask) -> None:
    """The routes above are on `bp`; idp.web.admin registers the blueprint after this."""
