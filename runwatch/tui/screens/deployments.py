"""The deployment switcher: pick from the list, or type an id."""

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


class DeploymentsScreen(ModalScreen["str | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, client: AsyncAPIClient, organization_id: str, current: str | None) -> None:
        super().__init__()
        self.client = client
        self.organization_id = organization_id
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="deployments-dialog"):
            yield Static(Text("Switch deployment", style="bold"))
            yield DeploymentList(id="deployment-list")
            yield Input(placeholder="or type a deployment id and press Enter", id="deployment-id")
            yield Static("", id="deployments-status")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.loading = True
        options.focus()
        self._load()

    @work(group="deployments", exclusive=True, exit_on_error=False, description="list deployments")
    async def _load(self) -> None:
        from runwatch.api.errors import ApiError

        options = self.query_one(OptionList)
        try:
            data = await self.client.get_deployments(self.organization_id)
        except ApiError as error:
            options.loading = False
            self.query_one("#deployments-status", Static).update(
                Text(
                    f"Could not list deployments: {inert(str(error))}. Type an id instead.",
                    style="red",
                )
            )
            self.query_one("#deployment-id", Input).focus()
            return
        entries = data.get("entries") if isinstance(data, dict) else None
        highlighted = None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not entry.get("deployment_id"):
                continue
            deployment_id = str(entry["deployment_id"])
            label = Text(inert(str(entry.get("name") or "(no name)")), style="bold")
            label.append(f"  {inert(deployment_id)}", style="dim")
            if deployment_id == self.current:
                label.append("  (current)", style="green")
                highlighted = options.option_count
            options.add_option(Option(label, id=deployment_id))
        options.loading = False
        if highlighted is not None:
            options.highlighted = highlighted
        if not options.option_count:
            self.query_one("#deployments-status", Static).update(
                Text("No deployments yet: create one with `runwatch deploy`.", style="yellow")
            )

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Input.Submitted, "#deployment-id")
    def _typed(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
