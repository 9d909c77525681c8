"""Invitation pages: the mailed link (accept, decline, or create an account and accept in one
step) and answering one's own invitations from the organizations page.

A link for an address with no account shows a sign-up form for that address: the new account
joins at once and its address counts as verified (the link proves it), so requiring verified
addresses never locks an invitee out. A person already signed in as someone else is told the
invitation is not theirs.
"""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.errors import IdpError
from idp.identity import invitations, verification
from idp.identity.organization_models import Invitation
from idp.web import authn
from idp.web.current import current_user, login_required, signed_in_user
from idp.web.errors import render_error

bp = Blueprint("invitations", __name__, url_prefix="/invitations")
Page = str | Response | tuple[str, int] | tuple[str | Response, int]


@bp.get("/<secret>")
def show(secret: str) -> Page:
    try:
        row = invitations.usable(invitations.find(secret))
    except IdpError as error:
        return _page(None, secret, error), error.status
    return _page(row, secret)


@bp.post("/<secret>/accept")
@login_required
def accept(secret: str) -> Page:
    try:
        row = invitations.find(secret)
        membership = invitations.accept(signed_in_user(), row)
    except IdpError as error:
        return _page(_still(secret), secret, error), error.status
    flash(f"Welcome to {membership.organization.name}.")
    return redirect(url_for("organizations.show", slug=membership.organization.slug), 303)


@bp.post("/<secret>/decline")
@login_required
def decline(secret: str) -> Page:
    try:
        invitations.reject(signed_in_user(), invitations.find(secret))
    except IdpError as error:
        return _page(_still(secret), secret, error), error.status
    flash("You declined the invitation.")
    return redirect(url_for("organizations.index"), 303)


@bp.post("/<secret>/sign-up")
def sign_up(secret: str) -> Page:
    """Create the invited address's account and accept, then sign in."""
    try:
        row = invitations.usable(invitations.find(secret))
        result = verification.sign_up(
            row.email, request.form.get("name", ""), request.form.get("password", "")
        )
        if not result.created:
            raise IdpError("You already have an account: sign in to accept the invitation.")
        membership = invitations.accept(result.user, row)
    except IdpError as error:
        return _page(_still(secret), secret, error), error.status
    next_url = url_for("organizations.show", slug=membership.organization.slug)
    return authn.complete_first_factor(result.user, ["pwd"], remember=False, next_url=next_url)


@bp.post("/mine/<int:invitation_id>/<answer>")
@login_required
def answer_mine(invitation_id: int, answer: str) -> Page:
    """Accept or decline one of my invitations from the organizations page."""
    if answer not in ("accept", "decline"):
        return render_error(404, "There is no such answer to an invitation.")
    user = signed_in_user()
    try:
        row = invitations.for_person(user, invitation_id)
        if answer == "accept":
            invitations.accept(user, row)
            flash(f"Welcome to {row.organization.name}.")
        else:
            invitations.reject(user, row)
            flash("You declined the invitation.")
    except IdpError as error:
        flash(error.message)
    return redirect(url_for("organizations.index"), 303)


def _still(secret: str) -> Invitation | None:
    try:
        return invitations.usable(invitations.find(secret))
    except IdpError:
        return None


def _page(row: Invitation | None, secret: str, error: IdpError | None = None) -> str:
    user = current_user()
    return render_template(
        "organizations/invitation.html",
        invitation=row,
        secret=secret,
        user=user,
        theirs=row is not None and user is not None and user.email == row.email,
        error=error.message if error else None,
        sign_in=url_for("auth.sign_in", next=request.path if row else None),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
