"""HTML to PDF with headless Chromium, and the page count of the result."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# As root with no network: no sandbox, no GPU, none of the background calls home that
# would each wait for a refused connection.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-extensions", "--no-pdf-header-footer")


class PdfError(RuntimeError):
    pass


def find_chromium() -> str:
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise PdfError("No Chromium found to print the report to PDF: install it (`apt-get install chromium` on "
                   "Debian; `.ci/run` does this) or put it on PATH.")


def html_to_pdf(html_file: Path, pdf_file: Path, timeout: float = 120) -> None:
    chromium = find_chromium()
    tmp_pdf = pdf_file.with_name(pdf_file.name + ".tmp")
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={tmp_pdf}",
                   html_file.resolve().as_uri()]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"Chromium did not print {html_file} within {timeout:.0f}s") from exc
    if proc.returncode != 0 or not tmp_pdf.exists() or tmp_pdf.stat().st_size == 0:
        hint = ""
        if "Socket path too long" in proc.stderr:
            hint = (f"; Chromium keeps a socket in the temp folder ({tempfile.gettempdir()}), whose path must be "
                    "short: point TMPDIR at a shorter folder")
        raise PdfError(f"Chromium failed to print {html_file} (exit {proc.returncode}){hint}: {proc.stderr[-1500:]}")
    tmp_pdf.replace(pdf_file)


def page_count(pdf_file: Path) -> int:
    # Chromium writes one uncompressed page object per page; poppler is only needed by the tests.
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf_file.read_bytes()))
