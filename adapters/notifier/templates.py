"""Messages from notices: one Jinja2 template per kind of notice, plain text and HTML.

A message holds every notice one commit gave one student (`message.txt`/`message.html` include
each notice's `<kind>.txt`/`<kind>.html`). The HTML templates are autoescaped, so a class title
or a reason cannot inject markup; the text ones are not. Replace `TEMPLATES` (or pass your own
mapping to `Renderer`) to change the wording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

from regledger.projections.notices import GROUPS, Contact, Name, Notice

SUBJECTS = {
    "waitlist": "You got a seat off the waitlist",
    "lottery": "Your lottery results",
    "class_change": "Your class-change results",
    "cancellation": "A class you signed up for was cancelled",
    "admin_drop": "An administrator changed your registration",
    "admin_change": "An administrator changed your registration",
    "admission": "Your admission to the program",
}
SEVERAL = "Changes to your registration"

TEMPLATES: dict[str, str] = {
    "message.txt": (
        "Hello {{ name }},\n\n{% for item in items %}{% include item.kind ~ '.txt' %}\n{% endfor %}\n-- {{ program }}\n"
    ),
    "message.html": (
        "<p>Hello {{ name }},</p>\n<ul>\n"
        "{% for item in items %}<li>{% include item.kind ~ '.html' %}</li>\n{% endfor %}"
        "</ul>\n<p>&mdash; {{ program }}</p>\n"
    ),
    "waitlist_promoted.txt": "- A seat opened in {{ item.section }} ({{ item.title }}): you are now enrolled.",
    "waitlist_promoted.html": "A seat opened in <b>{{ item.section }}</b> ({{ item.title }}): you are now enrolled.",
    "lottery_enrolled.txt": "- The lottery gave you a seat in {{ item.section }} ({{ item.title }}).",
    "lottery_enrolled.html": "The lottery gave you a seat in <b>{{ item.section }}</b> ({{ item.title }}).",
    "lottery_replaced.txt": "- The lottery replaced your seat in {{ item.section }} ({{ item.title }}).",
    "lottery_replaced.html": "The lottery replaced your seat in <b>{{ item.section }}</b> ({{ item.title }}).",
    "lottery_unplaced.txt": (
        "- The lottery could not give you a seat in the classes you chose. Classes with free seats"
        " open for first-come-first-served registration next: add them on {{ program }}'s registration page."
    ),
    "lottery_unplaced.html": (
        "The lottery could not give you a seat in the classes you chose. Classes with free seats"
        " open for first-come-first-served registration next: add them on <b>{{ program }}</b>'s registration page."
    ),
    "class_change_enrolled.txt": "- Class change: you are now enrolled in {{ item.section }} ({{ item.title }}).",
    "class_change_enrolled.html": "Class change: you are now enrolled in <b>{{ item.section }}</b> ({{ item.title }}).",
    "class_change_left.txt": "- Class change: you left {{ item.section }} ({{ item.title }}).",
    "class_change_left.html": "Class change: you left <b>{{ item.section }}</b> ({{ item.title }}).",
    "section_cancelled.txt": (
        "- {{ item.section }} ({{ item.title }}) was cancelled; your {{ item.verb }} registration ended."
        "{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
    "section_cancelled.html": (
        "<b>{{ item.section }}</b> ({{ item.title }}) was cancelled; your {{ item.verb }} registration ended."
        "{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
    "admin_dropped.txt": (
        "- An administrator ended your {{ item.verb }} registration in {{ item.section }} ({{ item.title }})."
        "{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
    "admission_admitted.txt": "- You are admitted to {{ program }}: you may now register for classes.",
    "admission_admitted.html": "You are admitted to <b>{{ program }}</b>: you may now register for classes.",
    "admission_undone.txt": (
        "- Your admission to {{ program }} was withdrawn.{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
    "admission_undone.html": (
        "Your admission to <b>{{ program }}</b> was withdrawn.{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
    "admission_declined.txt": "- The admission lottery for {{ program }} did not give you a place this time.",
    "admission_declined.html": "The admission lottery for <b>{{ program }}</b> did not give you a place this time.",
    "admin_dropped.html": (
        "An administrator ended your {{ item.verb }} registration in <b>{{ item.section }}</b> ({{ item.title }})."
        "{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
    "admin_added.txt": (
        "- An administrator registered you ({{ item.verb }}) in {{ item.section }} ({{ item.title }})."
        "{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
    "admin_added.html": (
        "An administrator registered you ({{ item.verb }}) in <b>{{ item.section }}</b> ({{ item.title }})."
        "{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
    "admin_switched.txt": (
        "- An administrator moved you to {{ item.section }} ({{ item.title }})."
        "{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
    "admin_switched.html": (
        "An administrator moved you to <b>{{ item.section }}</b> ({{ item.title }})."
        "{% if item.reason %} Reason: {{ item.reason }}{% endif %}"
    ),
}


@dataclass(frozen=True)
class Rendered:
    kind: str  # the notices' groups, comma-separated (`GROUPS`)
    subject: str
    text: str
    html: str


class Renderer:
    def __init__(self, templates: Mapping[str, str] = TEMPLATES) -> None:
        self.env = Environment(
            loader=DictLoader(dict(templates)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, contact: Contact | None, notices: Sequence[Notice], names: Mapping[UUID, Name]) -> Rendered:
        groups = sorted({GROUPS[n.kind] for n in notices})
        items = [_item(n, names) for n in notices]
        program = _program_of(notices, names, contact)
        context = {"name": (contact.name if contact else None) or "student", "program": program, "items": items}
        subject = SUBJECTS[groups[0]] if len(groups) == 1 else SEVERAL
        return Rendered(
            ",".join(groups),
            f"{program}: {subject}",
            self.env.get_template("message.txt").render(context),
            self.env.get_template("message.html").render(context),
        )


def _item(notice: Notice, names: Mapping[UUID, Name]) -> dict[str, str]:
    section = names.get(notice.section_id)
    subject = names.get(section.parent_id) if section and section.parent_id else None
    label = f"{subject.code}{section.code}" if section and subject else f"section {notice.section_id}"
    return {
        "kind": notice.kind,
        "section": label,
        "title": subject.title if subject else "",
        "verb": notice.verb,
        "reason": notice.reason,
    }


def _program_of(notices: Sequence[Notice], names: Mapping[UUID, Name], contact: Contact | None) -> str:
    program_id = contact.program_id if contact else None
    if program_id is None:
        section = names.get(notices[0].section_id)
        subject = names.get(section.parent_id) if section and section.parent_id else None
        program_id = subject.parent_id if subject else None
    program = names.get(program_id) if program_id else None
    return program.title if program else "regledger"
