"""A CJK-capable font for matplotlib, or a clear error saying how to install one.

matplotlib's default DejaVu Sans has no Chinese glyphs: without this, every
Chinese label would render as empty boxes and the report would still "succeed".
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on build machines; must precede pyplot
from matplotlib import font_manager  # noqa: E402

# Simplified Chinese first: the report is written for readers in mainland China.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei")
# Where Debian's fonts-noto-cjk puts its collections (matplotlib may not have scanned them yet).
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"),
             Path("/usr/share/fonts/opentype/noto-cjk"))


class MissingFontError(RuntimeError):
    pass


def _register_system_cjk_fonts() -> None:
    for folder in FONT_DIRS:
        for path in sorted(folder.glob("*CJK*")) if folder.is_dir() else []:
            font_manager.fontManager.addfont(str(path))


def cjk_family() -> str:
    """The first installed CJK family matplotlib can use; registers Debian's files when needed."""
    for attempt in range(2):
        installed = {f.name for f in font_manager.fontManager.ttflist}
        for family in CJK_FAMILIES:
            if family in installed:
                return family
        if attempt == 0:
            _register_system_cjk_fonts()
    raise MissingFontError(
        "No CJK font found for the report's charts (looked for "
        f"{', '.join(CJK_FAMILIES)}). Install one: `apt-get install fonts-noto-cjk` on Debian/Ubuntu "
        "(`.ci/run` does this), then run the report asset again."
    )


def configure_matplotlib() -> str:
    family = cjk_family()
    matplotlib.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"],
        # The CJK fonts have no U+2212 minus sign glyph; a hyphen renders everywhere.
        "axes.unicode_minus": False,
        "hatch.linewidth": 0.6,
        "figure.dpi": 100,
    })
    return family
