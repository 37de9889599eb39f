"""The pages' languages: which one a request speaks (the locale selector), the language switcher,
and the small catalogue the browser scripts read (built from the same gettext catalogues).

Order, first that names a language we speak: `?lang=<tag>` (the switcher; kept in the `lang`
cookie) > the `lang` cookie > on attendee pages and in the organizer's console (and its report)
the browser's Accept-Language > on signed-in staff pages the language the staff signed in with
(`keep_language`) > the page's location (`use_location_language`, set by the view) >
the event's language > English. Organizers are not attendees, but each reads the console on a
device of their own, so the device's language comes before the event's, as on a phone."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_time
from babel.numbers import format_decimal
from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import get_locale, get_translations, gettext, refresh
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from ..contract.sentences import Refusal, Sentence
from ..event.languages import DEFAULT, LANGUAGES, babel_name, direction, font_stylesheets, supported
from ..store import db as dbm
from . import fonts
from .context import current_event

LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600  # a year
# Pages a phone opens, where the phone's own language wins over the location's: the check-in
# page and its form, the passport, the short code, and the check-in API.
ATTENDEE_PATHS = ("/s/", "/me", "/j/", "/api/checkins")
# The organizer's console: its blueprints are named admin or admin_<area> (tracker/web/admin).
CONSOLE_BLUEPRINT = "admin"
_BY_BABEL_NAME = {babel_name(tag): tag for tag in LANGUAGES}


def init_app(app: Flask) -> None:
    fonts.init_app(app)
    app.after_request(_remember_choice)
    app.context_processor(_template_context)
    app.add_template_filter(local_time)
    app.add_template_filter(say)
    app.add_template_filter(catalogue)


def say(what: Sentence | BaseException | str) -> str:
    """A domain sentence (a Refusal's reason, a status check's detail, a node's alarm) in this
    request's language, its numbers in the locale's digits and the sentences among its values
    (a status's name, one problem of several) said too; any other error or text as it is. An
    untranslated sentence is said in English, never dropped."""
    if isinstance(what, Refusal):
        what = what.sentence
    if not isinstance(what, Sentence):
        return str(what)
    locale = str(get_locale() or DEFAULT)
    values = {
        name: say(value)
        if isinstance(value, Sentence)
        else format_decimal(value, locale=locale)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else value
        for name, value in what.values.items()
    }
    return gettext(what.template, **values) if values else gettext(what.template)


def _attendee_page() -> bool:
    return request.path.startswith(ATTENDEE_PATHS)


def console_page() -> bool:
    """Whether this request is the organizer's console (any admin blueprint, the report too)."""
    blueprint = request.blueprint or ""
    return blueprint == CONSOLE_BLUEPRINT or blueprint.startswith(CONSOLE_BLUEPRINT + "_")


def phone_language() -> str | None:
    """Our best tag for the browser's Accept-Language: its languages in order of preference,
    each looked up as RFC 4647 section 3.4 says (de-AT -> de), the first we speak wins."""
    for value, quality in request.accept_languages:
        if quality > 0 and value != "*":
            tag = supported(value)
            if tag:
                return tag
    return None


def _event_language() -> str | None:
    try:
        return current_event().get("language")
    except HTTPException:  # no event loaded: the error page speaks the default
        return None


def select_tag() -> str:
    """The BCP 47 tag this request speaks (see the module's docstring for the order)."""
    if not has_request_context():
        return DEFAULT
    chosen = supported(request.args.get("lang")) or supported(request.cookies.get(LANG_COOKIE))
    if chosen:
        return chosen
    if _attendee_page() or console_page():
        g.lang_from_phone = True
        chosen = phone_language()
        if chosen:
            return chosen
    return (
        supported(g.get("kept_language"))
        or supported(g.get("location_language"))
        or supported(_event_language())
        or DEFAULT
    )


def select_locale() -> str:
    """Flask-Babel's locale selector: the Babel name of `select_tag()` ("pt_BR")."""
    return babel_name(select_tag())


def use_location_language(tag: str | None) -> None:
    """The page belongs to a location (a station's page, a signed-in staff page): its language
    comes after the visitor's own choice (see select_tag)."""
    g.location_language = tag
    refresh()  # in case something asked for the locale before the view knew the location


def keep_language(tag: str | None) -> None:
    """The visitor already reads this page's people in a language (staff keep the one they
    signed in with): it comes before the location's, after an explicit choice (select_tag)."""
    g.kept_language = tag
    refresh()


def current_tag() -> str:
    """The BCP 47 tag of the locale this request speaks."""
    return _BY_BABEL_NAME.get(str(get_locale()), DEFAULT)


def _remember_choice(response: Response) -> Response:
    """`?lang=xx` (the switcher) sticks: a cookie for a year, on this device only."""
    chosen = supported(request.args.get("lang"))
    if chosen and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=LANG_COOKIE_MAX_AGE,
            samesite="Lax",
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    if g.get("lang_from_phone"):
        response.vary.add("Accept-Language")
    return response


def switcher() -> list[dict]:
    """Each language in its own name, with the link that switches to it."""
    here = current_tag()
    return [
        {"tag": tag, "name": name, "dir": direction(tag), "current": tag == here}
        for tag, name in LANGUAGES.items()
    ]


def region_locale(tag: str, country: str | None) -> str:
    """The locale for a location's clock: the language with the location's country when Babel
    knows that pair (English in Ireland writes 14:05, in the US 2:05 PM), else the language."""
    name = babel_name(tag)
    if country and "_" not in name.replace("_Hans", ""):
        try:
            return str(Locale.parse(f"{name}_{country.upper()}"))
        except (UnknownLocaleError, ValueError):
            pass
    return name


def local_time(iso: str | datetime | None, timezone: str, country: str | None = None) -> str:
    """A UTC time as the location's clock shows it, in this request's language ("14:05")."""
    if not iso:
        return ""
    when = dbm.parse_iso(iso) if isinstance(iso, str) else iso
    locale = region_locale(current_tag(), country)
    return format_time(when, "short", tzinfo=ZoneInfo(timezone), locale=locale)


def hour_digits(locale: str) -> str:
    """Intl's `hour` option that writes hours as Babel's short time of `locale` does ("14:05",
    "06:18" take "2-digit"; "6:18 AM", "9:00" take "numeric"), so the browser's times match."""
    pattern = Locale.parse(locale).time_formats["short"].pattern
    return "2-digit" if re.search(r"(HH|hh|KK|kk)", pattern) else "numeric"


# ---------------------------------------------------------------------- the browser catalogue


def _plural(singular: str, plural: str) -> dict[str, str]:
    """A message with a number, as the browser needs it: one text per CLDR plural category of
    this locale (Intl.PluralRules picks one), made by gettext from a number of that category."""
    locale = get_locale() or Locale.parse("en")
    translations = get_translations()  # unformatted: the browser fills %(num)s in
    forms: dict[str, str] = {}
    for n in (*range(0, 200), 1_000_000):
        category = locale.plural_form(n)
        if category not in forms:
            forms[category] = translations.ungettext(singular, plural, n)
    return forms


def _common() -> dict:
    return {"error": gettext("Something went wrong. Please try again.")}


def _attendee() -> dict:
    return {
        "checked_in": gettext("You're checked in at %(station)s, %(location)s"),
        "already_visited": gettext("You've already visited %(station)s, %(location)s"),
        "thanks_counted": gettext(
            "Thanks for stopping by: you just moved the team closer to its goal."
        ),
        "welcome_back": gettext(
            "Welcome back! Each station counts once, and your passport already has this one."
        ),
        "visited": _plural("%(num)s station visited", "%(num)s stations visited"),
        "checking_in": gettext("Checking you in…"),
        "unreachable": gettext("Could not reach us (%(reason)s). Please try again."),
        "server_problem": gettext("the server had a problem"),
        "no_connection": gettext("no connection"),
        "saved_offline": gettext("Saved on your phone — we'll send it when you're back online."),
        "saved_retry": gettext("Saved on your phone — we'll send it again in a moment."),
        "story_arrived": gettext("Your story “%(excerpt)s” arrived: reference %(reference)s."),
        "story_failed": gettext("Your story “%(excerpt)s” could not be sent: %(problem)s"),
        "sending": gettext("Sending…"),
        "write_first": gettext("Please write a few words first."),
        "contact_needed": gettext(
            "Tell us how to reach you, or untick “I'd like someone to get back to me”."
        ),
    }


def _staff() -> dict:
    return {
        "online": gettext("Online"),
        "offline": gettext("Offline"),
        "all_synced": gettext("All synced"),
        "waiting": _plural("%(num)s waiting to sync", "%(num)s waiting to sync"),
        "held": _plural("%(num)s needs attention", "%(num)s need attention"),
        "held_alert": _plural(
            "%(num)s conversation needs attention: the server refused it.",
            "%(num)s conversations need attention: the server refused them.",
        ),
        "server_said": gettext("The server said %(status)s."),
        "error_status": gettext("Error %(status)s"),
        "hint_new": gettext("Save it again to keep it as a new conversation, or discard it."),
        "hint_change": gettext(
            "Save it again to keep it as a new conversation, or discard this change."
        ),
        "refused": gettext("Refused by the server."),
        "hint_conflict": gettext(
            "Changed on another device meanwhile: keep yours, keep theirs, or fix it to merge them."
        ),
        "theirs": gettext("The other version: %(story)s"),
        "keep_mine": gettext("Keep mine"),
        "keep_theirs": gettext("Keep theirs"),
        "fix": gettext("Fix"),
        "discard": gettext("Discard"),
        "discard_confirm": gettext("Discard this conversation for good?"),
        "edit_waiting": gettext("Edit waiting to sync"),
        "waiting_one": gettext("Waiting to sync"),
        "edit": gettext("Edit"),
        "badge_chars": gettext(
            "Not a badge code: badges never contain %(chars)s (only %(alphabet)s)."
        ),
        "badge_length": gettext(
            "Not a badge code: a badge has %(length)s characters, not %(count)s."
        ),
        "badge_found": gettext("✓ Badge %(code)s found."),
        "badge_offline": gettext(
            "Offline: badge %(code)s will be checked when this conversation syncs."
        ),
        "badge_checking": gettext("Checking badge %(code)s…"),
        "badge_unknown": gettext(
            "No attendee has badge %(code)s at this event. Check their passport, or leave the"
            " badge empty."
        ),
        "badge_unchecked": gettext(
            "Badge %(code)s is checked when this conversation syncs (the server is not"
            " reachable now)."
        ),
        "not_yet_synced": gettext("a conversation not yet synced"),
        "not_editable": gettext("This conversation can no longer be edited."),
        "edit_offline": gettext(
            "You are offline: conversations already synced can be edited once back online."
        ),
        "story_needed": gettext("Write down their story before saving."),
        "quick_needed": gettext("Tap a score or a topic (or write their story) before saving."),
        "saved": gettext("Saved"),
        "saved_changes": gettext("Saved changes"),
        "save_failed": gettext(
            "Could not save on this device: %(error)s. Keep this page open and try again."
        ),
        "scanner_missing": gettext("the scanner did not load"),
        "scan_station": gettext(
            "That QR code is not a badge: it is a station's check-in code (%(address)s)."
            " Scan the QR code on the attendee's passport."
        ),
        "scan_address": gettext(
            "That QR code is not a badge: it is a web address (%(address)s). Scan the QR code"
            " on the attendee's passport."
        ),
        "scan_wifi": gettext(
            "That QR code is not a badge: it is a wifi network. Scan the QR code on the"
            " attendee's passport."
        ),
        "scan_empty": gettext(
            "That QR code is not a badge: it is empty. Scan the QR code on the attendee's passport."
        ),
        "scan_text": gettext(
            "That QR code is not a badge: it reads “%(text)s”. Scan the QR code on the"
            " attendee's passport."
        ),
        "no_camera": gettext(
            "The camera is not available here (it needs https). Type the badge instead."
        ),
        "camera_starting": gettext("Starting the camera…"),
        "badge_scanned": gettext("Badge scanned: %(code)s"),
        "point_camera": gettext("Point the camera at the QR code on the attendee's passport."),
        "camera_failed": gettext("Could not start the camera (%(error)s). Type the badge instead."),
        "signout_confirm": _plural(
            "%(num)s conversation is still waiting to sync. It stays on this device and syncs"
            " after the next sign-in to this station. Sign out?",
            "%(num)s conversations are still waiting to sync. They stay on this device and sync"
            " after the next sign-in to this station. Sign out?",
        ),
    }


def _board() -> dict:
    return {
        "live_board": gettext("live board"),
        "closed": gettext("%(location)s is closed"),
        "in_location": gettext("in %(location)s"),
        "engagements": gettext("meaningful engagements"),
        "engagements_everywhere": gettext("meaningful engagements across all locations"),
        "goal_reached": gettext("Goal reached!"),
        "of_goal": gettext("of the goal"),
        "updated": gettext("Updated %(time)s"),
        "as_of": gettext("Event figures as of %(time)s"),
        "page_of": gettext("page %(page)s of %(pages)s"),
        "no_scores": gettext("No scores yet"),
        "checkins": gettext("Check-ins"),
        "conversations": gettext("Conversations"),
        "no_engagements": gettext("No engagements yet — scan a QR code to be the first!"),
        "stories_here": gettext("Stories people agree to share appear here."),
        "story_by": gettext("%(station)s, %(location)s"),
        "employee_by": gettext("You Define TCE · %(location)s"),
        "employees_n": _plural("You Define TCE: %(num)s story", "You Define TCE: %(num)s stories"),
        "celebrate_goal": _plural(
            "%(num)s meaningful engagement. Thank you, everyone!",
            "%(num)s meaningful engagements. Thank you, everyone!",
        ),
        "celebrate_quarter": _plural(
            "%(num)s meaningful engagement. A quarter of the way!",
            "%(num)s meaningful engagements. A quarter of the way!",
        ),
        "celebrate_half": _plural(
            "%(num)s meaningful engagement. Halfway there!",
            "%(num)s meaningful engagements. Halfway there!",
        ),
        "celebrate_three_quarters": _plural(
            "%(num)s meaningful engagement. Three quarters done!",
            "%(num)s meaningful engagements. Three quarters done!",
        ),
        "connecting": gettext("Connecting…"),
        "live": gettext("Live"),
        "reconnecting": gettext("Reconnecting…"),
        "offline": gettext("Offline"),
        "offline_last": gettext("Offline · showing last numbers"),
        "central_offline": gettext("Central unreachable · this location live"),
    }


def _insights() -> dict:
    return {
        "live": gettext("Live"),
        "reconnecting": gettext("Reconnecting…"),
        "offline": gettext("Offline"),
        "nps": gettext("NPS"),
        "no_scores": gettext("No scores yet"),
        "promoters": gettext("Promoters"),
        "passives": gettext("Passives"),
        "detractors": gettext("Detractors"),
        "story_by": gettext("%(station)s, %(location)s"),
        "no_stories": gettext("No stories for this choice yet."),
        "scores": _plural("%(num)s score", "%(num)s scores"),
        "conversations_n": _plural("%(num)s conversation", "%(num)s conversations"),
    }


AUDIENCES = {
    "attendee": (_common, _attendee),
    "staff": (_common, _staff),
    "board": (_common, _board),
    "insights": (_common, _insights),
    "": (_common,),
}
_catalogues: dict[tuple[str, str], dict] = {}


def catalogue(messages: dict) -> Markup:
    """The scripts' messages as JSON for the page's <script type="application/json"> block, in
    UTF-8 rather than `tojson`'s \\u escapes: a Devanagari, Hebrew or Japanese character takes 3
    bytes instead of 6 (the Hindi staff Log page, the heaviest page, is 0.7 KB lighter
    compressed). Jinja's htmlsafe_json_dumps still escapes <, >, & and ' (no text closes the
    block)."""
    return htmlsafe_json_dumps(messages, ensure_ascii=False, sort_keys=True)


def browser_messages() -> dict:
    """What this page's scripts say, in this request's language: the attendee's pages get the
    attendee's words, staff pages the staff's (the attendee page stays small)."""
    audience = request.blueprint if request.blueprint in AUDIENCES else ""
    key = (str(get_locale()), audience)
    if key not in _catalogues:
        messages: dict = {}
        for part in AUDIENCES[audience]:
            messages.update(part())
        _catalogues[key] = messages
    return _catalogues[key]


def _template_context() -> dict:
    if not has_request_context():
        return {}
    tag = current_tag()
    return {
        "lang": tag,
        "dir": direction(tag),
        "languages": switcher(),
        "browser_messages": browser_messages(),
        "fonts": font_stylesheets(tag),
    }
