"""Use cases that the JSON API, the Gradio app and the command line share, so each is written once.

- ``intake``: register a file and queue its analysis, uploads (checked, stored under a safe name),
  retry or re-analysis of a video.
- ``videos``: a video as the clients show it (status, progress, whether its file changed on disk
  since it was analysed), the list of videos, a video's moments, search hits with their video's
  disk state.
- ``planning``: probe and plan a file exactly as ingest does, and describe one clip with the
  vision-language model (``videoqa plan`` / ``videoqa describe``).
- ``questions``: asking a question about a video.

Functions that take a ``Session`` run inside the caller's unit of work and never commit; those
that take an ``Engine`` own their unit of work (they commit before queueing). Queueing goes
through a ``send`` callable the caller provides (the Celery app's ``send_items`` in production),
so this package never imports ``workers``.
"""
