"""The JSON API's URLs, written once: the prefix its routers are mounted under (``web.api``) and the
paths the page links to (``web.render`` writes them into the HTML; ``web/static/seek.js`` takes
the media URL from the player's ``data-media`` attribute, so no script spells a path)."""

from __future__ import annotations

API_PREFIX = "/api/v1"
MEDIA_URL = API_PREFIX + "/videos/{id}/media"  # ``{id}``: the video's id (seek.js fills it in)
THUMB_URL = API_PREFIX + "/videos/{id}/thumbnail?t={t}"  # ``{t}``: seconds (seek.js fills in both)
SIMILAR_URL = API_PREFIX + "/moments/{id}/similar"  # ``{id}``: a moment's id


def media_url(video_id: int) -> str:
    return MEDIA_URL.replace("{id}", str(int(video_id)))


def thumb_url(video_id: int, t: float) -> str:
    return THUMB_URL.replace("{id}", str(int(video_id))).replace("{t}", f"{max(0.0, float(t)):.3f}")


def export_url(video_id: int, name: str) -> str:
    return f"{API_PREFIX}/videos/{int(video_id)}/export/{name}"
