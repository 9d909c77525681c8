"""What the admin console and `idp users` do to people: find them (`people.py`), ban, unban,
set the admin role and end their sessions (`moderation.py`), and read the audit log
(`audit_log.py`); and to organizations (`organization_admin.py`). Each change is audited with
the acting admin. Web pages and commands call these; nothing here reads an HTTP request.
"""
