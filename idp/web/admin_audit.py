"""The audit log in the admin console (/admin/audit) and its CSV export (/admin/audit.csv),
filtered by person, event and time. The export is streamed: a large log is never held in
memory, and its cells are escaped against spreadsheet formulas (idp.admin.audit_log)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, render_template, request, stream_with_context

from idp.admin import audit_log
from idp.core.audit import Event
from idp.errors import InvalidInput
from idp.web.admin import admin_required
from idp.web.errors import render_error

bp = Blueprint("admin_audit", __name__, url_prefix="/admin")


@bp.get("/audit")
@admin_required
def index() -> str | tuple[Any, int]:
    try:
        query = audit_log.Query.parse(request.args.to_dict())
    except InvalidInput as error:
        return render_error(400, error.message)
    rows, next_before = audit_log.page(query)
    return render_template(
        "admin/audit.html", rows=rows, query=query, next_before=next_before, events=list(Event)
    )


@bp.get("/audit.csv")
@admin_required
def export() -> Response | tuple[Any, int]:
    try:
        query = audit_log.Query.parse(request.args.to_dict())
    except InvalidInput as error:
        return render_error(400, error.message)
    return Response(
        stream_with_context(audit_log.csv_lines(query)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
