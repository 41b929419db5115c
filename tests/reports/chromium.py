"""Headless Chromium as a person's browser: a screenshot of a page, the page's layout as the
browser measured it, and the page printed to PDF.

Debian's ``chromium`` package (``.ci/run`` installs it). Nothing is fetched: the pages are
self-contained, and the flags keep Chromium off the network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Chromium", "find_chromium"]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
WINDOW = (1200, 2000)

#: Run in the page once it is laid out: what a person would see, measured by the browser.
_MEASURE = """
<script>
(() => {
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height}; };
  const overlaps = (a, b) => a.left < b.right - 1 && b.left < a.right - 1
                          && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
    const frame = box(svg);
    const texts = [...svg.querySelectorAll('text')].map((t) => ({text: t.textContent, box: box(t),
                                                                  cls: t.getAttribute('class')}));
    const labels = texts.filter((t) => t.cls === 'category' || t.cls === null);
    const clashes = [];
    labels.forEach((a, i) => labels.slice(i + 1).forEach((b) => {
      if (overlaps(a.box, b.box)) clashes.push([a.text, b.text]); }));
    return {id: svg.id, title: svg.querySelector('title').textContent, box: frame,
            texts: texts.map((t) => t.text), clashes,
            outside: texts.filter((t) => t.box.left < frame.left - 1
                                      || t.box.right > frame.right + 1
                                      || t.box.top < frame.top - 1
                                      || t.box.bottom > frame.bottom + 1).map((t) => t.text),
            bars: [...svg.querySelectorAll('rect')].filter((r) => r.querySelector('title'))
                  .map((r) => ({title: r.querySelector('title').textContent,
                                height: box(r).height}))};
  });
  const h1 = document.querySelector('h1');
  const result = {h1: h1.textContent, h1_box: box(h1), charts,
                  page_width: document.documentElement.scrollWidth,
                  window_width: window.innerWidth,
                  cells: [...document.querySelectorAll('td, th')].filter((c) =>
                    c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent)};
  const out = document.createElement('pre');
  out.id = 'fleetsync-measured';
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
})();
</script>
"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Chromium:
    binary: str
    profile: Path

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        width, height = WINDOW
        return subprocess.run(
            [
                self.binary,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
            env={**os.environ, "LANG": "en_GB.UTF-8"},
        )

    def screenshot(self, page: Path, png: Path) -> None:
        self._run(f"--screenshot={png}", page.as_uri())
        assert png.is_file(), f"chromium wrote no screenshot of {page}"

    def measure(self, page: Path) -> dict[str, Any]:
        """The page's layout as Chromium rendered it (a copy of the page measures itself)."""
        probe = page.with_name(page.stem + ".measured.html")
        probe.write_text(
            page.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>"),
            encoding="utf-8",
        )
        dom = self._run("--dump-dom", probe.as_uri()).stdout
        start = dom.index('<pre id="fleetsync-measured">') + len('<pre id="fleetsync-measured">')
        text = dom[start : dom.index("</pre>", start)]
        result: dict[str, Any] = json.loads(
            text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        )
        return result

    def print_to_pdf(self, page: Path, pdf: Path) -> bytes:
        self._run("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
        return pdf.read_bytes()
