"""Background work of the OpenID provider."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def deliver_backchannel_logout(session_id: int, registration_id: int, issuer: str) -> bool:
    from .services import do_deliver_backchannel_logout

    return do_deliver_backchannel_logout(session_id, registration_id, issuer)


@task()
def retire_signing_keys() -> dict[str, Any]:
    """Periodic: keys past their grace period leave the JWKS (audited)."""
    from .services import do_retire_signing_keys

    return {"retired": do_retire_signing_keys()}
