"""Draw careteam/static/favicon.ico (32x32 and 16x16, PNG inside) from favicon.svg.

Run once after changing the SVG: .venv/bin/python scripts/make-favicon.py
It renders the SVG in Debian's Chromium (the one the browser tests use), so the ICO that
browsers ask for at /favicon.ico is the same picture as the SVG pages link.
"""

from __future__ import annotations

import struct
from pathlib import Path

from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parents[1] / "careteam" / "static"
SIZES = (32, 16)


def render(svg: str, size: int, browser) -> bytes:
    page = browser.new_page(viewport={"width": size, "height": size})
    page.set_content(
        "<style>html,body{margin:0;background:transparent}svg{display:block;"
        f"width:{size}px;height:{size}px}}</style>{svg}"
    )
    png = page.screenshot(omit_background=True)
    page.close()
    return png


def ico(images: list[tuple[int, bytes]]) -> bytes:
    """An ICO directory with PNG images (supported by every current browser)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, data = b"", b""
    for size, png in images:
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset)
        offset += len(png)
        data += png
    return header + entries + data


def main() -> None:
    svg = (STATIC / "favicon.svg").read_text()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        images = [(size, render(svg, size, browser)) for size in SIZES]
        browser.close()
    (STATIC / "favicon.ico").write_bytes(ico(images))


if __name__ == "__main__":
    main()
