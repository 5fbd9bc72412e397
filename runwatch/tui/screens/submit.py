"""The submit form: a modal that validates as you type and never loses what was typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from runwatch.tui.format import inert
from runwatch.tui.screens.submit_fields import (
    json_field_text,
    parse_env,
    parse_int,
    parse_json_object,
    parse_required,
    secret_env,
    shown_env_value,
    unmask_env,
)

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.models import Run


@dataclass(frozen=True)
class SubmitResult:
    """`run` is the created run; None means the outcome is unknown (maybe created, maybe not)."""

    run: Run | None


class SubmitScreen(ModalScreen["SubmitResult | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Submit", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    FIELDS: ClassVar[tuple[str, ...]] = (
        "deployment",
        "version",
        "model",
        "input",
        "output",
        "env",
        "retry",
        "distribution",
    )

    def __init__(
        self,
        client: AsyncAPIClient,
        organization_id: str,
        deployment_id: str,
        *,
        template: Run | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.organization_id = organization_id
        self.deployment_id = deployment_id
        self.template = template
        self._submitting = False
        self._touched: set[str] = set()
        self._versions_timer: Timer | None = None
        self._versions_ok = False
        self._wanted_version = template.version_id if template else None
        # Run again: secret-looking values are shown masked and sent as they were, unless the
        # user types a new value over the mask.
        self._hidden_env = secret_env(template.user_env_vars) if template else {}

    # -- layout ---------------------------------------------------------------------------

    def _row(self, name: str, label: str, *widgets: Widget) -> ComposeResult:
        with Horizontal(classes="field", id=f"field-{name}"):
            yield Label(label, classes="field-label")
            with Vertical(classes="field-body"):
                yield from widgets
                yield Label("", classes="reason", id=f"reason-{name}")

    def compose(self) -> ComposeResult:
        template = self.template
        # Everything pre-filled from a run is the server's text: shown without its controls.
        title = f"Run again: {inert(template.run_id)}" if template else "New run"
        with Vertical(id="submit-dialog"):
            yield Static(Text(title, style="bold"), id="submit-title")
            with VerticalScroll(id="submit-fields"):
                yield from self._row(
                    "deployment",
                    "deployment id",
                    Input(
                        inert((template.deployment_id if template else None) or self.deployment_id),
                        id="deployment",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "version",
                    "version",
                    Select[str]([], prompt="loading versions…", id="version-select", compact=True),
                    Input(
                        inert(self._wanted_version or ""),
                        placeholder="ver-… (type a version id)",
                        id="version-text",
                        compact=True,
                    ),
                )
                models = dict(template.models) if template else {}
                model_id = models.get("alias") or next(iter(models.values()), "")
                yield from self._row(
                    "model",
                    "model id",
                    Input(inert(model_id), id="model", compact=True, placeholder="optional"),
                )
                json_fields = (
                    ("input", "input data (JSON)", "input_data"),
                    ("output", "output template (JSON)", "output_template"),
                )
                for name, label, attribute in json_fields:
                    value = json_field_text(getattr(template, attribute, None))
                    area = TextArea(value, id=name, soft_wrap=True, compact=True)
                    yield from self._row(name, label, area)
                env = dict(template.user_env_vars) if template else {}
                hidden = self._hidden_env
                shown = "\n".join(
                    inert(f"{k}={shown_env_value(k, v, hidden)}") for k, v in env.items()
                )
                yield from self._row(
                    "env",
                    "environment (KEY=VALUE lines"
                    + ("; **** keeps a secret" if self._hidden_env else "")
                    + ")",
                    TextArea(shown, id="env", compact=True),
                )
                number_fields = (
                    ("retry", "retry count (0-9)", "server default", "retry_count"),
                    ("distribution", "distribution", "round-robin", "distribution"),
                )
                for name, label, placeholder, attribute in number_fields:
                    number = getattr(template, attribute, None)
                    text = "" if number is None else str(number)
                    field = Input(text, placeholder=placeholder, id=name, compact=True)
                    yield from self._row(name, label, field)
            yield Static("", id="submit-error")
            with Horizontal(id="submit-buttons"):
                yield Button("Submit (ctrl+s)", variant="primary", id="submit")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#version-text", Input).display = False
        deployment = self.query_one("#deployment", Input)
        self._load_versions(deployment.value.strip())
        # The deployment is usually filled in already: the first choice to make is the version.
        if deployment.value.strip():
            self.query_one("#version-select", Select).focus()
        else:
            deployment.focus()

    # -- versions -------------------------------------------------------------------------

    @work(group="versions", exclusive=True, exit_on_error=False, description="load versions")
    async def _load_versions(self, deployment_id: str) -> None:
        from runwatch.api.errors import ApiError

        select = self.query_one("#version-select", Select)
        text = self.query_one("#version-text", Input)
        if not deployment_id:
            return
        try:
            data = await self.client.get_deployment_versions(self.organization_id, deployment_id)
        except ApiError as error:
            self._versions_ok = False
            select.display = False
            text.display = True
            if not text.value and select.value is not Select.NULL:
                text.value = str(select.value)
            self._set_reason("version", f"versions unavailable ({inert(str(error))}); type an id")
            return
        entries = data.get("entries") if isinstance(data, dict) else None
        options: list[tuple[Text, str]] = []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("version_id"), str):
                version_id = entry["version_id"]
                label = inert(str(entry.get("version") or "")) or version_id
                # Text, never str: a Select parses str prompts as markup, and whoever deploys
                # a version must not control the UI (`[@click=app.quit]`).
                options.append((Text(f"{label} · {inert(version_id)}"), version_id))
        wanted = self._wanted_version or (
            str(select.value) if select.value is not Select.NULL else None
        )
        select.set_options(options)
        select.prompt = "choose a version" if options else "no versions in this deployment"
        self._versions_ok = True
        select.display = True
        text.display = False
        ids = [value for _, value in options]
        if wanted in ids:
            select.value = wanted
        elif wanted:
            # The version is not listed (deleted, or another deployment): keep it as text.
            select.display = False
            text.display = True
            text.value = wanted
        self._validate("version")

    @on(Input.Changed, "#deployment")
    def _deployment_changed(self, event: Input.Changed) -> None:
        self._touched.add("deployment")
        self._validate("deployment")
        if self._versions_timer is not None:
            self._versions_timer.stop()
        value = event.value.strip()
        self._versions_timer = self.set_timer(0.4, lambda: self._load_versions(value))

    # -- validation -----------------------------------------------------------------------

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if name == "version-text":
            name = "version"
        if name in self.FIELDS and name != "deployment":
            self._touched.add(name)
            self._validate(name)

    @on(TextArea.Changed)
    def _text_changed(self, event: TextArea.Changed) -> None:
        name = event.text_area.id or ""
        if name in self.FIELDS:
            self._touched.add(name)
            self._validate(name)

    @on(Select.Changed, "#version-select")
    def _version_selected(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self._wanted_version = str(event.value)
        self._touched.add("version")
        self._validate("version")

    def _raw(self, name: str) -> str:
        if name == "version":
            select = self.query_one("#version-select", Select)
            if select.display:
                return "" if select.value is Select.NULL else str(select.value)
            return self.query_one("#version-text", Input).value
        widget = self.query_one(f"#{name}")
        if isinstance(widget, TextArea):
            return widget.text
        assert isinstance(widget, Input)
        return widget.value

    def _parse(self, name: str) -> tuple[Any, str]:
        raw = self._raw(name)
        if name == "deployment":
            return parse_required(raw, what="deployment")
        if name == "version":
            if (
                not raw.strip()
                and not self._versions_ok
                and not self.query_one("#version-text", Input).display
            ):
                return None, "loading versions…"
            return parse_required(raw, what="version")
        if name == "model":
            return (raw.strip() or None), ""
        if name == "input":
            return parse_json_object(raw, what="input data")
        if name == "output":
            return parse_json_object(raw, what="output template")
        if name == "env":
            env, reason = parse_env(raw)
            return unmask_env(env, self._hidden_env), reason
        if name == "retry":
            return parse_int(raw, low=0, high=9, what="retry count")
        if name == "distribution":
            return parse_int(raw, low=0, high=None, what="distribution")
        raise KeyError(name)

    def _validate(self, name: str, *, show: bool = False) -> bool:
        _, reason = self._parse(name)
        if show or name in self._touched:
            self._set_reason(name, reason)
        return not reason

    def _set_reason(self, name: str, reason: str) -> None:
        label = self.query_one(f"#reason-{name}", Label)
        label.update(Text(f"✘ {reason}" if reason else "", style="bold red"))
        field = self.query_one(f"#field-{name}")
        field.set_class(bool(reason), "-invalid")

    def reasons(self) -> dict[str, str]:
        """Every field's current reason, "" when valid (for tests and the help text)."""
        return {name: self._parse(name)[1] for name in self.FIELDS}

    # -- submitting -----------------------------------------------------------------------

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        # While a request is on its way, focus leaves the disabled Submit button for this
        # one, and a second Enter meant for Submit must not close the form: Escape does.
        if not self._submitting:
            self.action_cancel()

    def action_cancel(self) -> None:
        if self._submitting:
            # The request may have reached the server: its outcome is unknown, and it is
            # never sent again (the caller says so and refreshes the runs list).
            self.workers.cancel_group(self, "submit")
            self.dismiss(SubmitResult(None))
            return
        self.dismiss(None)

    def action_submit(self) -> None:
        if self._submitting:
            return
        invalid = [name for name in self.FIELDS if not self._validate(name, show=True)]
        if invalid:
            self._show_error(f"Fix the marked fields first ({', '.join(invalid)}).")
            first = self.query_one(f"#field-{invalid[0]}")
            for widget in first.query("Input, TextArea, Select"):
                if widget.display:
                    widget.focus()
                    break
            return
        values = {name: self._parse(name)[0] for name in self.FIELDS}
        self._submitting = True
        self.query_one("#submit", Button).disabled = True
        self._show_error("Submitting…", error=False)
        self._create(values)

    def _show_error(self, text: str, *, error: bool = True) -> None:
        self.query_one("#submit-error", Static).update(
            Text(text, style="bold red" if error else "italic")
        )

    @work(group="submit", exclusive=True, exit_on_error=False, description="submit run")
    async def _create(self, values: dict[str, Any]) -> None:
        from runwatch.api.errors import ApiError, HttpError, OutcomeUnknown, ResponseShapeError
        from runwatch.api.models import Run

        try:
            data = await self.client.create_run(
                self.organization_id,
                values["deployment"],
                values["version"],
                input_data=values["input"],
                output_template=values["output"],
                distribution=values["distribution"],
                retry_count=values["retry"],
                environment=values["env"],
                model_id=values["model"],
            )
            run = Run.from_wire(data)
        except (OutcomeUnknown, ResponseShapeError):
            # Never retried: the run may exist (a 2xx whose body cannot be read most likely
            # created it). The caller refreshes the list instead.
            self.dismiss(SubmitResult(None))
            return
        except ApiError as error:
            self._submitting = False
            self.query_one("#submit", Button).disabled = False
            reason = error.error_description if isinstance(error, HttpError) else str(error)
            self._show_error(f"The server refused the run: {inert(reason or str(error))}")
            return
        except (TypeError, ValueError) as error:
            # Not sent at all (a value the request could not be written with): say so and let
            # the user fix it, rather than leave "Submitting…" on screen for ever.
            self._submitting = False
            self.query_one("#submit", Button).disabled = False
            self._show_error(f"Could not send the run: {inert(str(error))}")
            return
        self.dismiss(SubmitResult(run))
