"""The web layer: the JSON API (web/api/) and the Gradio app (docs/architecture.md)."""
