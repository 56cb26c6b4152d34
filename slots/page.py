"""The departments' web page (templates/slots/index.html) in the reader's language. Presents only: the weeks
of the horizon with their dates and blackouts come from slots.weeks and the planning calendar; bookings are
fetched by the page from /api/calendar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from egov.i18n import HTML_LANG, LANGUAGES, gettext_for, language, week_dates
from slots.weeks import blackout_of, horizon_weeks, week_label, weeks

if TYPE_CHECKING:
    from slots.admission import Province

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "slots"


def week_options(province: Province, lang: str) -> list[dict[str, Any]]:
    """Every week of the horizon for the week picker: label, dates in the reader's language, blackout."""
    first, last = horizon_weeks(province.planning)
    options = []
    for monday in weeks(first, last):
        blackout = blackout_of(province.planning, monday)
        options.append(
            {
                "week": week_label(monday),
                "dates": week_dates(monday, lang),
                "blackout": None if blackout is None else blackout.name,
            }
        )
    return options


def render_page(province: Province, lang: str | None) -> str:
    """The page in ``lang`` (zh_CN or en; see egov.i18n.negotiate)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    code = language(lang)
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(), extensions=["jinja2.ext.i18n"]
    )
    environment.install_gettext_translations(gettext_for(code), newstyle=True)  # type: ignore[attr-defined]
    planning = province.planning
    return environment.get_template("index.html").render(
        lang=code,
        html_lang=HTML_LANG[code],
        languages=[(HTML_LANG[c], c) for c in LANGUAGES],
        region=province.source.cloud.region,
        weekly_capacity=planning.migration_weekly_capacity,
        headroom=f"{planning.headroom_target * 100:g} %",
        weeks=week_options(province, code),
    )
