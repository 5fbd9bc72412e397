"""The footer, showing only the keys that fit whole.

Textual's footer lets its keys run on under the command palette key docked on the right, so
a narrow terminal showed a key cut mid-word ("^r▏^p palette") and, in the compact style, one
cell of a hidden key after the palette ("^p paletten"). Keys come in the order the screen puts
them (its own first): the first that does not fit and every one after it are hidden.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class FittingFooter(Footer):
    DEFAULT_CSS = """
    FittingFooter.-compact FooterKey.-command-palette {
        margin-right: 0;
    }
    """

    _fitted_width = 0

    def compose(self) -> ComposeResult:
        yield from super().compose()
        self.call_after_refresh(self._fit)

    def on_resize(self, event: events.Resize) -> None:
        # Keys hidden at a narrower size may fit now: lay them all out again. Only for a
        # new width: a dialog opening resizes the screen below it to the same size.
        if event.size.width != self._fitted_width:
            self._fitted_width = event.size.width
            self.call_after_refresh(self.recompose)

    def _fit(self) -> None:
        # Widths from the keys' own content and CSS, not their regions: a footer composed
        # again under a modal screen is not laid out until that screen closes.
        if not self.size.width:
            return  # not laid out yet: on_resize comes when it is
        keys = list(self.query(FooterKey))
        palette = [key for key in keys if key.has_class("-command-palette")]
        room = self.size.width - sum(self._width(key) for key in palette)
        used = 0
        for key in keys:
            if key in palette:
                continue
            used += self._width(key)
            if used > room:
                key.display = False

    def _width(self, key: FooterKey) -> int:
        styles = key.styles
        content = key.get_content_width(self.size, self.app.size)
        return content + styles.gutter.width + styles.margin.width

    def shown(self) -> list[FooterKey]:
        """The keys on screen (what a narrow terminal still offers), in order."""
        return [key for key in self.query(FooterKey) if key.display]
