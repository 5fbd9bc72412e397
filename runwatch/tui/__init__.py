"""The Textual dashboard. Import `runwatch.tui.app` lazily: it pulls in Textual."""
