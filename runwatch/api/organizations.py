"""An organization's name to its id, the way the abeja CLI does it.

The abeja CLI's configuration holds `organization-name`; abejacli turns it into an id with
GET /organizations/<name> and reads the answer's `id` (`abejacli.common.get_organization_id`).
The Run API's paths take the id. Both the command line and the dashboard call this, once,
before their first request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runwatch.api.errors import NotFound, ResponseShapeError

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["resolve_organization_id"]


async def resolve_organization_id(client: AsyncAPIClient, organization: str) -> str:
    """The id of the organization called `organization` (an id gives itself back)."""
    try:
        answer = await client.get_organization(organization)
    except NotFound as exc:
        # Name the organization: the server's own text may not, and this is what to fix.
        raise NotFound(
            exc.error,
            f"organization {organization!r} not found",
            exc.error_detail,
            exc.status_code,
            exc.url,
        ) from None
    value = answer.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ResponseShapeError(
            f"the answer about organization {organization!r} has no id",
            url=f"{client.base_url}/organizations/{organization}",
        )
    return value
