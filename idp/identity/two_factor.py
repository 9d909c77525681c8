"""(Being built: see the account-security brief.)"""

from __future__ import annotations

from idp.identity.models import User


def requires_second_factor(user: User) -> bool:
    """Whether signing in as `user` needs a second factor (two-factor is on)."""
    return False


def device_trusted(user: User) -> bool:
    """Whether this browser carries a live 'trust this device' mark for `user`."""
    return False
