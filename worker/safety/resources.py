"""Crisis lines and fixed reply texts from ``resources.toml``, resolved for a locale."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

RESOURCES_PATH = Path(__file__).with_name("resources.toml")
DEFAULT_LANGUAGE = "en"
INTERNATIONAL = "international"
LINE_FIELDS = ("name", "phone", "sms", "chat", "url", "hours", "description", "source", "checked_on")
_CONTACT_FIELDS = ("phone", "sms", "url")
_MESSAGE_FIELDS = ("crisis", "fallback", "emergency_fallback", "lines_heading")
# Optional per language; a language without them uses its own crisis text, else English's.
_OPTIONAL_FIELDS = ("imminent", "third_party", "safety_prompt")
# Which fixed message answers each safety level.
LEVEL_MESSAGES = {"ideation": "crisis", "imminent": "imminent", "third_party": "third_party"}
_LOCALE_PART = re.compile(r"[-_]")


class ResourcesError(ValueError):
    """The resources file is missing something every reply needs."""


@dataclass(frozen=True)
class Locale:
    language: str
    region: str | None


def parse_locale(locale: str) -> Locale:
    """ "en", "en-US", "fr_CA.UTF-8", "zh-Hant-TW", "EN-gb" -> language and optional region."""
    tag = locale.strip().split(".")[0].split("@")[0].lower()
    parts = [part for part in _LOCALE_PART.split(tag) if part]
    if not parts:
        return Locale(DEFAULT_LANGUAGE, None)
    region = next((part for part in parts[1:] if len(part) == 2 and part.isalpha()), None)
    return Locale(parts[0], region)


@dataclass(frozen=True)
class Region:
    code: str
    emergency: str | None
    lines: tuple[dict[str, str], ...]


class CrisisResources:
    def __init__(
        self,
        messages: dict[str, dict[str, str]],
        regions: dict[str, Region],
        languages: dict[str, tuple[str, ...]],
        aliases: dict[str, str],
    ) -> None:
        self.messages = messages
        self.regions = regions
        self.languages = languages
        self.aliases = aliases

    @classmethod
    def load(cls, path: Path = RESOURCES_PATH) -> CrisisResources:
        try:
            with Path(path).open("rb") as handle:
                raw = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ResourcesError(f"cannot read crisis resources from {path}: {error}") from error
        messages = {language: _messages(language, fields) for language, fields in raw.get("messages", {}).items()}
        if DEFAULT_LANGUAGE not in messages:
            raise ResourcesError(f"{path}: [messages.{DEFAULT_LANGUAGE}] is required")
        regions = {code: _region(code, fields) for code, fields in raw.get("regions", {}).items()}
        if not regions.get(INTERNATIONAL) or not regions[INTERNATIONAL].lines:
            raise ResourcesError(f"{path}: [regions.{INTERNATIONAL}] needs at least one line")
        languages = {
            language: tuple(code.lower() for code in ([codes] if isinstance(codes, str) else codes))
            for language, codes in raw.get("languages", {}).items()
        }
        aliases = {alias: region.lower() for alias, region in raw.get("aliases", {}).items()}
        unknown = sorted(({c for codes in languages.values() for c in codes} | set(aliases.values())) - set(regions))
        if unknown:
            raise ResourcesError(f"{path}: [languages]/[aliases] point to unknown regions {unknown}")
        return cls(messages, regions, languages, aliases)

    def regions_for(self, locale: str, language: str | None = None) -> list[Region]:
        """The locale's own country when we list it; else the countries of its language (or of
        ``language``, the one the message was written in, when the locale names no country)."""
        parsed = parse_locale(locale)
        code = self.aliases.get(parsed.region or "", parsed.region)
        if code is not None and code in self.regions and code != INTERNATIONAL:
            return [self.regions[code]]
        codes = self.languages.get(language or parsed.language) or self.languages.get(parsed.language, ())
        return [self.regions[c] for c in codes if c in self.regions and c != INTERNATIONAL]

    def language_for(self, locale: str, language: str | None = None) -> str:
        """The message's own language when we have texts in it, else the locale's, else English."""
        for candidate in (language, parse_locale(locale).language):
            if candidate and candidate in self.messages:
                return candidate
        return DEFAULT_LANGUAGE

    def lines_for(self, locale: str, language: str | None = None) -> list[dict[str, str]]:
        """The country lines, then the international ones; each a fresh dict the caller may keep."""
        regional = [line for region in self.regions_for(locale, language) for line in region.lines]
        return [dict(line) for line in regional + list(self.regions[INTERNATIONAL].lines)]

    def reply(
        self, level: str, locale: str = DEFAULT_LANGUAGE, language: str | None = None
    ) -> tuple[str, list[dict[str, str]]]:
        """The fixed answer to a safety level ("ideation", "imminent", "third_party"): (text, lines)."""
        speak = self.language_for(locale, language)
        field = LEVEL_MESSAGES.get(level, "crisis")
        template = self.message(speak, field)
        regions = self.regions_for(locale, language)
        single = regions[0] if len(regions) == 1 else None
        emergency = single.emergency if single and single.emergency else self.messages[speak]["emergency_fallback"]
        lines = self.lines_for(locale, language)
        listing = "\n".join(f"- {_describe(line)}" for line in lines)
        text = f"{template.format(emergency=emergency)}\n\n{self.messages[speak]['lines_heading']}\n{listing}"
        return text, lines

    def crisis_reply(self, locale: str = DEFAULT_LANGUAGE) -> tuple[str, list[dict[str, str]]]:
        return self.reply("ideation", locale)

    def message(self, language: str, field: str) -> str:
        texts = self.messages.get(language, self.messages[DEFAULT_LANGUAGE])
        if field in texts:
            return texts[field]
        if field == "imminent":
            return texts["crisis"]
        return self.messages[DEFAULT_LANGUAGE][field]

    def fallback_reply(self, locale: str = DEFAULT_LANGUAGE, language: str | None = None) -> str:
        return self.messages[self.language_for(locale, language)]["fallback"]


def _messages(language: str, fields: dict[str, str]) -> dict[str, str]:
    missing = [name for name in _MESSAGE_FIELDS if not fields.get(name)]
    if missing:
        raise ResourcesError(f"[messages.{language}] is missing {missing}")
    if language == DEFAULT_LANGUAGE:
        missing = [name for name in _OPTIONAL_FIELDS if not fields.get(name)]
        if missing:
            raise ResourcesError(f"[messages.{language}] is missing {missing}")
    return {name: str(fields[name]).strip() for name in _MESSAGE_FIELDS + _OPTIONAL_FIELDS if fields.get(name)}


def _region(code: str, fields: dict[str, object]) -> Region:
    lines = []
    for raw_line in fields.get("lines", []):  # type: ignore[union-attr]
        line = {name: str(raw_line[name]) for name in LINE_FIELDS if raw_line.get(name)}
        if "name" not in line or not any(name in line for name in _CONTACT_FIELDS):
            raise ResourcesError(f"a line of [regions.{code}] needs a name and a phone, sms or url")
        line["region"] = code.upper() if code != INTERNATIONAL else INTERNATIONAL
        lines.append(line)
    emergency = fields.get("emergency")
    return Region(code=code, emergency=str(emergency) if emergency else None, lines=tuple(lines))


def _describe(line: dict[str, str]) -> str:
    contacts = [line["phone"]] if "phone" in line else []
    if "sms" in line:
        contacts.append(f"SMS {line['sms']}")
    if "url" in line:
        contacts.append(line["url"])
    hours = f" ({line['hours']})" if "hours" in line else ""
    return f"{line['name']}: {' · '.join(contacts)}{hours}"
