"""Who makes a change: a person (`User`), or an OAuth client calling the management API with a
client-credentials token that holds admin scopes (`ClientActor`), such as a provisioning job.

Services that change people and organizations take an `Actor` and name it in the audit log:
a person by their id and email, a client as `client:<client_id>` with no user id. A client
counts as an administrator (it got the admin scope from an administrator who registered it).
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.identity.models import User


@dataclass(frozen=True)
class ClientActor:
    """An OAuth client acting through the management API; `name` is its display name."""

    client_id: str
    name: str
    id: None = None
    is_admin: bool = True

    @property
    def email(self) -> str:
        """How the audit log and the messages name it."""
        return f"client:{self.client_id}"


Actor = User | ClientActor
