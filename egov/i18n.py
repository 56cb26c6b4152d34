"""The languages users read: Simplified Chinese first (zh_CN, the default), English on request.

Texts are English msgids marked with ``_()`` (Python) or ``{{ _("…") }}`` (Jinja2 templates), extracted with
Babel (`pybabel extract -F babel.cfg`) into egov/locale/egov.pot, translated in egov/locale/<lang>/
LC_MESSAGES/egov.po and compiled to egov.mo (committed; tests/i18n checks that they match the .po). The
standard library's gettext reads the .mo files; Babel formats dates for a locale.

A language is chosen by a CLI flag (``--lang en``), a page's ``?lang=`` or the browser's Accept-Language.
"""

from __future__ import annotations

import gettext as _gettext
from datetime import date
from functools import cache
from pathlib import Path

from egov.model import ResourceClass

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "egov"
#: Languages with a catalog; the first is the default.
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]
#: The value of an HTML lang attribute per language.
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


class UnknownLanguage(ValueError):
    """A language with no catalog, named as the user wrote it."""


def N_(message: str) -> str:
    """Marks a text for extraction; it is translated where it is shown."""
    return message


def language(value: str | None) -> str:
    """'zh', 'zh-CN', 'zh_cn', 'en-US', 'EN' … → 'zh_CN' or 'en'; None → the default; anything else is
    refused naming the value and the languages there are."""
    if value is None or not value.strip():
        return DEFAULT_LANGUAGE
    wanted = value.strip().replace("-", "_").lower()
    for code in LANGUAGES:
        if wanted == code.lower() or wanted.split("_")[0] == code.split("_")[0].lower():
            return code
    raise UnknownLanguage(f"unknown language {value!r}; choose one of: {', '.join(_choices())}")


def _choices() -> list[str]:
    return [HTML_LANG[code] for code in LANGUAGES]


def negotiate(query: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=`` when it names a known language, else the first language of the
    browser's Accept-Language (by q-value) that has a catalog, else the default (zh_CN)."""
    if query:
        try:
            return language(query)
        except UnknownLanguage:
            pass
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:32]):  # bounded: header is input
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    for _quality, _position, tag in sorted(ranked):
        try:
            return language(tag)
        except UnknownLanguage:
            continue
    return DEFAULT_LANGUAGE


@cache
def translations(lang: str | None = None) -> _gettext.NullTranslations:
    """The compiled catalog of a language (English texts are their own msgids: an empty catalog is fine, a
    missing zh_CN catalog is an error, never a silent fall-back to English)."""
    code = language(lang)
    try:
        return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[code])
    except FileNotFoundError:
        if code == "en":
            return _gettext.NullTranslations()
        raise FileNotFoundError(
            f"no compiled catalog {LOCALE_DIR / code / 'LC_MESSAGES' / (DOMAIN + '.mo')}; "
            "run: pybabel compile -d egov/locale -D egov"
        ) from None


def gettext_for(lang: str | None) -> _gettext.NullTranslations:
    """The translations object of ``lang``, for Jinja2's ``install_gettext_translations``."""
    return translations(language(lang))


#: Resources as users name them; the Placement resource class stays beside it where operators need it.
RESOURCE_NAMES: dict[ResourceClass, str] = {
    ResourceClass.VCPU: N_("virtual CPU"),
    ResourceClass.MEMORY_MB: N_("memory"),
    ResourceClass.DISK_GB: N_("local disk"),
    ResourceClass.BLOCK_STORAGE: N_("block storage"),
    ResourceClass.OBJECT_STORAGE: N_("object storage"),
}


def resource_name(resource: ResourceClass, lang: str | None = None, placement: bool = False) -> str:
    """'内存' or, with ``placement``, '内存 (MEMORY_MB)'; in English 'memory (MEMORY_MB)'."""
    name = translations(language(lang)).gettext(RESOURCE_NAMES[resource])
    return f"{name} ({resource.value})" if placement else name


def day_month(day: date, lang: str | None = None) -> str:
    """A day without its year as the locale writes it: '3月16日' (zh_CN), 'Mar 16' (en)."""
    from babel.dates import format_skeleton

    return format_skeleton("MMMd", day, locale=language(lang))


def week_dates(monday: date, lang: str | None = None) -> str:
    """The seven days of an ISO week: '3月16日–3月22日' for 2027-W12 in zh_CN."""
    from datetime import timedelta

    return f"{day_month(monday, lang)}–{day_month(monday + timedelta(days=6), lang)}"


def month_name(month: date, lang: str | None = None) -> str:
    """A month as the locale writes it: '2027年3月' (zh_CN), 'Mar 2027' (en)."""
    from babel.dates import format_skeleton

    return format_skeleton("yMMM", month, locale=language(lang))
