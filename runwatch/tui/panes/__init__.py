"""The main screen's panes: each a widget that owns its worker and its follow object."""
