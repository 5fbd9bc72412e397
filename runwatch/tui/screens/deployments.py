"""The deployment switcher: pick from the list, or type a name or an id.

A typed value goes through the same lookup as `--deployment` (`api.deployments`): an id, else
the only deployment with that name; an ambiguous name says which ids carry it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from runwatch.tui.format import inert

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.deployment_views import Deployment


class DeploymentList(OptionList):
    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # A terminal dragged down to a few columns leaves no room beside the options'
        # padding, and OptionList cannot lay out at width 0 (ValueError deep in Rich): measure
        # as if there were a few columns; what does not fit is clipped.
        return super().get_content_height(container, viewport, max(width, 8))

    # Textual 8.2.8 looks a page up in lines it has not laid out yet when the terminal is
    # too small to show any (KeyError): there is no page to move by then.
    def action_page_up(self) -> None:
        with contextlib.suppress(KeyError, IndexError):
            super().action_page_up()

    def action_page_down(self) -> None:
        with contextlib.suppress(KeyError, IndexError):
            super().action_page_down()


class DeploymentsScreen(ModalScreen["Deployment | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, client: AsyncAPIClient, organization_id: str, current: str | None) -> None:
        super().__init__()
        self.client = client
        self.organization_id = organization_id
        self.current = current
        # Every page of the list, once it has arrived; None until then (or when it failed).
        self.deployments: list[Deployment] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="deployments-dialog"):
            yield Static(Text("Switch deployment", style="bold"))
            yield DeploymentList(id="deployment-list")
            yield Input(
                placeholder="or type a deployment name or id and press Enter", id="deployment-id"
            )
            yield Static("", id="deployments-status")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.loading = True
        options.focus()
        self._load()

    def _say(self, text: str, style: str) -> None:
        # The text may hold names and ids from the server: shown as typed, never as markup.
        self.query_one("#deployments-status", Static).update(Text(inert(text), style=style))

    @work(group="deployments", exclusive=True, exit_on_error=False, description="list deployments")
    async def _load(self) -> None:
        from runwatch.api.deployments import list_deployments
        from runwatch.api.errors import ApiError

        options = self.query_one(OptionList)
        try:
            deployments = await list_deployments(self.client, self.organization_id)
        except ApiError as error:
            options.loading = False
            self._say(f"Could not list deployments: {error}. Type a name or an id instead.", "red")
            self.query_one("#deployment-id", Input).focus()
            return
        self.deployments = deployments
        highlighted = None
        for deployment in deployments:
            label = Text(inert(deployment.name or "(no name)"), style="bold")
            label.append(f"  {inert(deployment.deployment_id)}", style="dim")
            if deployment.creator is not None:
                label.append(f"  by {inert(deployment.creator.label)}", style="dim")
            if deployment.deployment_id == self.current:
                label.append("  (current)", style="green")
                highlighted = options.option_count
            options.add_option(Option(label, id=deployment.deployment_id))
        options.loading = False
        if highlighted is not None:
            options.highlighted = highlighted
        if not options.option_count:
            self._say("No deployments yet: create one with `runwatch deploy`.", "yellow")

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        chosen = next(
            (d for d in self.deployments or () if d.deployment_id == event.option.id), None
        )
        if chosen is not None:
            self.dismiss(chosen)

    @on(Input.Submitted, "#deployment-id")
    def _typed(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self._say(f"Looking up {value}…", "dim")
            self._resolve(value)

    @work(group="resolve", exclusive=True, exit_on_error=False, description="find deployment")
    async def _resolve(self, wanted: str) -> None:
        from runwatch.api.deployments import resolve_deployment
        from runwatch.api.errors import ApiError

        try:
            found = await resolve_deployment(
                self.client, self.organization_id, wanted, known=self.deployments
            )
        except ApiError as error:
            self._say(str(error), "red")
            return
        self.dismiss(found)

    def action_cancel(self) -> None:
        self.dismiss(None)
