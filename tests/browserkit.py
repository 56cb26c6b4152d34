"""Debian's headless chromium for the page and report tests, and the check that Chinese text renders as
glyphs, not as missing-glyph boxes (a machine without a CJK font draws every Chinese character as the same
box, and the page still "works")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_INSTALL = (
    "sudo apt-get install -y chromium chromium-driver fonts-noto-cjk"
    "   (or: bash scripts/deps.d/40-slots.sh && bash scripts/deps.d/45-fonts.sh)"
)
#: A code point no font covers (plane 16, private use): how a missing glyph looks in the element's font.
MISSING = "\U0010fffd"


@contextmanager
def chromium(
    tmp_path: Path,
    accept_language: str = "zh-CN,zh",
    env: dict[str, str] | None = None,
    size: tuple[int, int] = (1400, 1000),
) -> Iterator[Any]:
    """A headless chromium whose browser language is ``accept_language``; fails (never skips) without it."""
    for binary in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not Path(binary).exists():
            pytest.fail(f"{binary} not found; install: {CHROMIUM_INSTALL}")
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={size[0]},{size[1]}",
        f"--lang={accept_language.split(',')[0]}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": accept_language})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver", env=env), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


_GLYPHS = """
const [element, missing] = arguments;
const style = getComputedStyle(element);
const font = style.fontWeight + " " + style.fontSize + " " + style.fontFamily;
const chars = [...new Set([...element.innerText].filter((c) => /\\p{Script=Han}/u.test(c)))].slice(0, 12);
function pixels(c) {
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 64;
  const g = canvas.getContext("2d");
  g.font = font.replace(style.fontSize, "40px");
  g.fillStyle = "#000";
  g.textBaseline = "top";
  g.fillText(c, 4, 4);
  return Array.from(g.getImageData(0, 0, 64, 64).data).join(",");
}
const box = pixels(missing);
const drawn = chars.map((c) => [c, pixels(c)]);
return {font, chars: chars.join(""),
        boxes: drawn.filter(([, p]) => p === box).map(([c]) => c).join(""),
        distinct: new Set(drawn.map(([, p]) => p)).size};
"""


def cjk_glyphs(driver: Any, element: Any) -> dict[str, Any]:
    """Each Chinese character of ``element``'s text drawn in its computed font, compared with a code point no
    font has: ``boxes`` lists the characters drawn as the missing-glyph box, ``distinct`` counts different
    drawings (a machine without the font draws every character the same)."""
    result: dict[str, Any] = driver.execute_script(_GLYPHS, element, MISSING)
    return result


def assert_cjk_renders(driver: Any, element: Any) -> None:
    found = cjk_glyphs(driver, element)
    assert found["chars"], "no Chinese text to check"
    assert found["boxes"] == "" and found["distinct"] == len(found["chars"]), (
        f"Chinese characters render as missing-glyph boxes in {found['font']!r}: "
        f"{found['boxes'] or found['chars']}; install a CJK font: {CHROMIUM_INSTALL}"
    )


def no_cjk_fontconfig(tmp_path: Path) -> dict[str, str]:
    """An environment whose fontconfig knows DejaVu only: a machine without a CJK font."""
    import os

    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        "<dir>/usr/share/fonts/truetype/dejavu</dir>"
        f"<cachedir>{tmp_path / 'fontcache'}</cachedir></fontconfig>"
    )
    return {**os.environ, "FONTCONFIG_FILE": str(config)}
