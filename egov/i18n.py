"""The languages users read: Simplified Chinese first (zh_CN, the default), English on request.

Texts are English msgids marked with ``_()`` (Python) or ``{{ _("…") }}`` (Jinja2 templates), extracted with
Babel (`pybabel extract -F babel.cfg`) into egov/locale/egov.pot, translated in egov/locale/<lang>/
LC_MESSAGES/egov.po and compiled to egov.mo (committed; tests/i18n checks that they match the .po). The
standard library's gettext reads the .mo files; Babel formats dates for a locale.

A language is chosen by a CLI flag (``--lang en``), a page's ``?lang=`` or the browser's Accept-Language.
The CLI's own messages (``error:``, ``warning:``, "nothing was written", usage errors) follow `cli_language`:
``egov --lang``, then ``EGOV_LANG``, then the POSIX locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), then
zh_CN.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Mapping
from contextvars import ContextVar
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


#: The CLI language chosen by ``egov --lang`` (or resolved from the environment) for one invocation: egov's
#: callback sets it and resets it when the invocation ends, so it never leaks into the next (tests run many
#: in one process).
CHOSEN_CLI_LANGUAGE: ContextVar[str | None] = ContextVar("egov_cli_language", default=None)
#: The POSIX locale variables in their order of precedence; C/POSIX or a language without a catalog: the
#: default.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The CLI language when no ``--lang`` was given: ``EGOV_LANG`` (an unknown value is refused naming the
    variable), else the first POSIX locale variable that names a language with a catalog
    ('en_US.UTF-8' → en; 'C.UTF-8' says nothing), else the default (zh_CN)."""
    env = os.environ if environ is None else environ
    chosen = env.get("EGOV_LANG", "")
    if chosen.strip():
        try:
            return language(chosen)
        except UnknownLanguage as exc:
            raise UnknownLanguage(f"EGOV_LANG: {exc}") from None
    for variable in LOCALE_VARIABLES:
        value = env.get(variable, "")
        if not value:
            continue
        tag = value.split(".")[0].split("@")[0]  # zh_CN.UTF-8@pinyin → zh_CN
        try:
            return language(tag) if tag not in ("C", "POSIX") else DEFAULT_LANGUAGE
        except UnknownLanguage:
            return DEFAULT_LANGUAGE  # the first set variable decides, as in POSIX; ja_JP has no catalog
    return DEFAULT_LANGUAGE


def cli_language() -> str:
    """The language of the running command's own messages: what ``egov --lang`` (or the environment, read
    once by egov's callback) chose, else — a sub-app invoked on its own — the environment, where an unknown
    EGOV_LANG counts as unset (this is asked while printing an error: it must not raise another)."""
    chosen = CHOSEN_CLI_LANGUAGE.get()
    if chosen is not None:
        return chosen
    try:
        return language_from_environment()
    except UnknownLanguage:
        return DEFAULT_LANGUAGE


def cli_gettext(message: str) -> str:
    """``message`` (an English msgid) in the CLI language."""
    return translations(cli_language()).gettext(message)


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
    "VCPU": N_("virtual CPU"),
    "MEMORY_MB": N_("memory"),
    "DISK_GB": N_("local disk"),
    "BLOCK_STORAGE": N_("block storage"),
    "OBJECT_STORAGE": N_("object storage"),
    "VGPU": N_("virtual GPU"),
}


def resource_name(resource: ResourceClass, lang: str | None = None, placement: bool = False) -> str:
    """'内存' or, with ``placement``, '内存 (MEMORY_MB)'; in English 'memory (MEMORY_MB)'."""
    known = RESOURCE_NAMES.get(resource)
    # a class added by data alone (CUSTOM_FPGA) has no translated name yet: users see Placement's
    name = translations(language(lang)).gettext(known) if known is not None else resource
    return f"{name} ({resource})" if placement and known is not None else name


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
