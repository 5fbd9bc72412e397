"""Deployments by name or id: the one lookup the CLI and the dashboard share.

Platform users know their deployments by name (the abeja CLI and the web console show names),
while every path of the Run API wants an id. A value given where a deployment goes is the
deployment with that id, else the only deployment with that name; a name that several
deployments carry is an error that lists their ids, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runwatch.api.deployment_views import Deployment
from runwatch.api.errors import (
    AmbiguousDeployment,
    Forbidden,
    HttpError,
    MethodNotAllowed,
    NotFound,
    UnknownDeployment,
)

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["list_deployments", "match_deployment", "resolve_deployment"]

# A server that keeps handing out fresh page tokens must not keep a command asking for ever.
MAX_PAGES = 1000


async def list_deployments(client: AsyncAPIClient, organization_id: str) -> list[Deployment]:
    """Every deployment of the organization, in the server's order.

    The SDK's `abeja.deployments` client lists with one request and no paging parameter
    (neither offset/limit nor a token), and so does this. An answer that does carry a
    `next_page_token` (the paging of the API's runs list) is followed until a page comes
    without one or with a token already seen; a deployment seen on an earlier page is not
    counted twice, so a page boundary cannot make a name look ambiguous.
    """
    found: dict[str, Deployment] = {}
    seen: set[str] = set()
    token: str | None = None
    for _ in range(MAX_PAGES):
        data = await client.get_deployments(organization_id, next_page_token=token)
        for deployment in Deployment.list_from_wire(data):
            found.setdefault(deployment.deployment_id, deployment)
        token = data.get("next_page_token")
        if not isinstance(token, str) or not token or token in seen:
            break
        seen.add(token)
    return list(found.values())


def match_deployment(deployments: Sequence[Deployment], wanted: str) -> Deployment | None:
    """The deployment `wanted` names among `deployments`, or None when none matches.

    An id wins over a name (ids are unique, names are not). Raises AmbiguousDeployment when
    no id matches and several deployments carry the name.
    """
    for deployment in deployments:
        if deployment.deployment_id == wanted:
            return deployment
    named = [d for d in deployments if d.name == wanted]
    if len(named) > 1:
        raise AmbiguousDeployment(wanted, [d.deployment_id for d in named])
    return named[0] if named else None


async def resolve_deployment(
    client: AsyncAPIClient,
    organization_id: str,
    wanted: str,
    *,
    known: Sequence[Deployment] | None = None,
) -> Deployment:
    """The deployment that `wanted` (a name or an id) names.

    `known` is a list already fetched with `list_deployments`; without it the list is asked
    for. When nothing in the list matches, `wanted` is asked for as an id: a deployment
    created since, or hidden from a list the credential may not read, is still found.
    Raises AmbiguousDeployment, UnknownDeployment, or the client's errors.
    """
    if not wanted:
        raise ValueError("a deployment name or id must not be empty")
    listing_refused: HttpError | None = None
    if known is None:
        try:
            known = await list_deployments(client, organization_id)
        except (Forbidden, MethodNotAllowed) as error:
            # A credential may be allowed to read a deployment it cannot list: ids still work.
            listing_refused = error
            known = ()

    found = match_deployment(known, wanted)
    if found is not None:
        return found
    try:
        data = await client.get_deployment(organization_id, wanted)
    except HttpError as error:
        if listing_refused is not None:
            # Not an id, and a name cannot be looked up without the list: say why.
            raise listing_refused from None
        if isinstance(error, NotFound):
            raise UnknownDeployment(wanted, organization_id, url=error.url) from None
        raise
    return Deployment.from_wire(data)
