"""Languages: zh-CN first, English on request; catalogs complete and compiled; dates and resource names as
users read them."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from egov import i18n
from egov.resources import standard_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("given", "code"),
    [(None, "zh_CN"), ("", "zh_CN"), ("zh", "zh_CN"), ("zh-CN", "zh_CN"), ("ZH_cn", "zh_CN"), ("en", "en"),
     ("en-US", "en"), ("EN", "en")],
)  # fmt: skip
def test_language_codes(given: str | None, code: str) -> None:
    assert i18n.language(given) == code


def test_unknown_language_is_refused_naming_it() -> None:
    with pytest.raises(i18n.UnknownLanguage, match=r"unknown language 'fr-FR'; choose one of: zh-CN, en"):
        i18n.language("fr-FR")


@pytest.mark.parametrize(
    ("query", "header", "code"),
    [
        (None, None, "zh_CN"),  # nothing said: Chinese
        (None, "en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        (None, "fr-FR, de;q=0.9", "zh_CN"),  # no catalog for any: the default, not the first offered
        (None, "fr, en;q=0.5, zh;q=0.7", "zh_CN"),  # by q-value, not by position
        (None, "en;q=0, zh-TW", "zh_CN"),  # q=0 means "not this"
        ("en", "zh-CN", "en"),  # the page's switch beats the browser
        ("xx", "en", "en"),  # an unknown ?lang= falls back to the browser
        (None, "en;q=abc", "zh_CN"),  # a malformed q-value counts as 0
    ],
)
def test_negotiate(query: str | None, header: str | None, code: str) -> None:
    assert i18n.negotiate(query, header) == code


def test_week_dates_as_chinese_readers_write_them() -> None:
    # ISO weeks start on Monday: 2027-W12 is 22–28 March 2027; 2026-W12 is 16–22 March 2026.
    assert i18n.week_dates(date.fromisocalendar(2027, 12, 1)) == "3月22日–3月28日"
    assert i18n.week_dates(date.fromisocalendar(2026, 12, 1)) == "3月16日–3月22日"
    assert i18n.week_dates(date.fromisocalendar(2027, 12, 1), "en") == "Mar 22–Mar 28"
    assert i18n.week_dates(date.fromisocalendar(2027, 52, 1)) == "12月27日–1月2日"  # across the new year


def test_resource_names_chinese_first_with_the_placement_class() -> None:
    assert i18n.resource_name("MEMORY_MB") == "内存"
    assert i18n.resource_name("VCPU", placement=True) == "虚拟CPU (VCPU)"
    assert i18n.resource_name("DISK_GB", "zh-CN", placement=True) == "本地磁盘 (DISK_GB)"
    assert i18n.resource_name("MEMORY_MB", "en", placement=True) == "memory (MEMORY_MB)"
    names = standard_table().names
    assert len({i18n.resource_name(rc) for rc in names}) == len(names)


def _catalog(path: Path):  # type: ignore[no-untyped-def]
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return read_po(handle)


def _translated(message) -> bool:  # type: ignore[no-untyped-def]
    """A message with every form translated (a plural message has a tuple of forms)."""
    if message is None:
        return False
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(forms)


def test_every_text_of_the_code_and_templates_has_a_chinese_translation(tmp_path: Path) -> None:
    """Extract the texts afresh (as `pybabel extract` does) and look each up in the zh_CN catalog: a text
    added without a translation would show in English on a Chinese page."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(str(ROOT), method_map, options_map)
    }
    assert "memory" in found and "Migration slots" in found
    catalog = _catalog(ROOT / "egov/locale/zh_CN/LC_MESSAGES/egov.po")
    missing = sorted(text for text in found if not _translated(catalog.get(text)))
    assert missing == [], f"untranslated in egov/locale/zh_CN/LC_MESSAGES/egov.po: {missing}"


@pytest.mark.parametrize("code", i18n.LANGUAGES)
def test_compiled_catalogs_match_their_po_files(code: str) -> None:
    """The committed .mo is what `pybabel compile -d egov/locale -D egov` makes of the .po today."""
    from babel.messages.mofile import write_mo

    directory = ROOT / "egov/locale" / code / "LC_MESSAGES"
    buffer = io.BytesIO()
    write_mo(buffer, _catalog(directory / "egov.po"))
    assert (directory / "egov.mo").read_bytes() == buffer.getvalue(), (
        f"stale {directory / 'egov.mo'}: run pybabel compile -d egov/locale -D egov"
    )


def test_placeholders_survive_translation() -> None:
    """A zh_CN text keeps exactly the %(name)s placeholders of its English original."""
    import re

    catalog = _catalog(ROOT / "egov/locale/zh_CN/LC_MESSAGES/egov.po")
    pattern = re.compile(r"%\((\w+)\)s")

    def names(texts: str | tuple[str, ...]) -> set[str]:
        forms = [texts] if isinstance(texts, str) else list(texts)
        return {name for text in forms for name in pattern.findall(text)}

    wrong = [message.id for message in catalog if message.id and names(message.id) != names(message.string)]
    assert wrong == []
