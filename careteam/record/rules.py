"""The limits a note must meet: one source for the web form and the API."""

from __future__ import annotations

# The title column holds 200 characters; the body is text, capped to keep pages readable.
NOTE_TITLE_MAX = 200
NOTE_BODY_MAX = 20000
