"""The notifier end to end in-process, on SQLite and PostgreSQL, through a real SMTP server:
what is sent when, one message per student per commit, no address counted."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from regledger.adapters.notifier.follower import Notifier
from regledger.adapters.notifier.sender import Sender
from regledger.adapters.notifier.store import OutboxStore, open_outbox
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.application import Registration
from regledger.domain.ids import TimeslotId
from regledger.domain.values import ENROLLED
from regledger.projections.views import PositionAlreadyApplied
from tests.notifier.helpers import Program, admin, email_of, student


def notify(app: Registration, settings: Settings, outbox: OutboxStore, **kwargs: Any) -> Sender:
    """Catch the notifier up (whole log) and send what is due."""
    Notifier(app, outbox, from_start=True, **kwargs).catch_up()
    sender = Sender.for_settings(settings, outbox)
    sender.send_due()
    sender.close()
    return sender


def test_a_waitlist_promotion_mails_the_promoted_student_only(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    for key in ("ada", "bo", "cy"):
        p.profile(key)
    p.add("ada")
    p.add("bo")
    p.add("cy", verb="Waitlisted")
    p.app.drop_section(p.pid, "ada", p.section, student("ada"))  # her own drop: no mail to her

    notify(app, notify_settings, outbox)

    assert smtp_server.received.to() == {email_of("cy"): 1}
    [mail] = smtp_server.received.of(email_of("cy"))
    assert mail["Subject"] == "Splash Fall: You got a seat off the waitlist"
    assert mail["From"] == "registrar@splash.test"
    text = mail.get_body(("plain",)).get_content()
    assert "M101s1 (Mechanics)" in text
    assert "Hello Cy" in text
    assert [(r.kind, r.status, r.attempts) for r in outbox.list()] == [("waitlist", "sent", 1)]


def test_a_cancellation_mails_everyone_it_released_and_escapes_html(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    for key in ("ada", "bo", "cy"):
        p.profile(key)
    p.add("ada")
    p.add("bo")
    p.add("cy", verb="Waitlisted")
    reason = "Teacher ill <b>sorry</b>"
    app.cancel_section(p.section, admin(reason))

    notify(app, notify_settings, outbox)

    assert smtp_server.received.to() == {email_of(k): 1 for k in ("ada", "bo", "cy")}
    mail = smtp_server.received.of(email_of("cy"))[0]
    assert mail["Subject"] == "Splash Fall: A class you signed up for was cancelled"
    html = mail.get_body(("html",)).get_content()
    assert "Teacher ill &lt;b&gt;sorry&lt;/b&gt;" in html
    assert "<b>sorry</b>" not in html
    assert "your Waitlisted registration ended" in mail.get_body(("plain",)).get_content()


def test_an_admin_drop_is_mailed_with_its_reason(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    p.profile("ada")
    p.add("ada")
    app.drop_section(p.pid, "ada", p.section, admin("no-show"))

    notify(app, notify_settings, outbox)

    [mail] = smtp_server.received.of(email_of("ada"))
    assert mail["Subject"] == "Splash Fall: An administrator changed your registration"
    assert "Reason: no-show" in mail.get_body(("plain",)).get_content()


def test_what_an_admin_adds_switches_or_batch_registers_is_mailed_and_a_students_own_is_not(
    app, notify_settings, outbox, smtp_server
):
    p = Program(app, seats=3)
    other = p.new_section()  # M101s2, the same class and timeslot
    for key in ("ada", "bo", "cy", "dee"):
        p.profile(key)
    app.add_section(p.pid, "ada", p.section, admin("placed by the office"))
    p.add("bo")
    app.switch_sections(p.pid, "bo", p.section, other, admin("balancing sections"))
    app.batch_register(p.pid, other, ["cy"], admin("teacher's list"))
    p.add("dee")  # her own add: nothing to tell

    notify(app, notify_settings, outbox)

    assert set(smtp_server.received.to()) == {email_of(k) for k in ("ada", "bo", "cy")}
    texts = {k: smtp_server.received.of(email_of(k))[0].get_body(("plain",)).get_content() for k in ("ada", "bo", "cy")}
    assert (
        "An administrator registered you (Enrolled) in M101s1 (Mechanics). Reason: placed by the office" in texts["ada"]
    )
    assert "An administrator moved you to M101s2 (Mechanics). Reason: balancing sections" in texts["bo"]
    assert "An administrator registered you (Enrolled) in M101s2 (Mechanics). Reason: teacher's list" in texts["cy"]
    [mail] = smtp_server.received.of(email_of("bo"))
    assert mail["Subject"] == "Splash Fall: An administrator changed your registration"
    assert {r.kind for r in outbox.list()} == {"admin_change"}


def test_a_no_show_sweep_mails_who_lost_a_seat_and_who_got_it(app, notify_settings, outbox, smtp_server):
    p = Program(app, seats=1)
    for key in ("ada", "bo"):
        p.profile(key)
    p.add("ada")
    p.add("bo", verb="Waitlisted")
    app.check_in(p.pid, "bo", admin("door"))
    app.unenroll_no_shows(p.pid, TimeslotId(p.slots[0]), admin("no-shows at 9:15"))

    notify(app, notify_settings, outbox)

    [dropped] = smtp_server.received.of(email_of("ada"))
    assert "Reason: no-shows at 9:15" in dropped.get_body(("plain",)).get_content()
    [promoted] = smtp_server.received.of(email_of("bo"))
    assert promoted["Subject"] != dropped["Subject"]


def test_phase_zero_admissions_and_their_undo_are_mailed(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    app.change_settings(p.pid, {"phase_zero": True}, admin())
    for key in ("ada", "bo"):
        p.profile(key)
        app.enter_admission(p.pid, key, student(key))
    app.admit_students(p.pid, ["ada", "bo"], admin("first wave"))
    app.undo_admissions(p.pid, ["bo"], admin("entered twice"))

    notify(app, notify_settings, outbox)

    [admitted] = smtp_server.received.of(email_of("ada"))
    assert admitted["Subject"] == "Splash Fall: Your admission to the program"
    assert "You are admitted to Splash Fall" in admitted.get_body(("plain",)).get_content()
    first, second = smtp_server.received.of(email_of("bo"))
    assert "withdrawn. Reason: entered twice" in second.get_body(("plain",)).get_content()
    assert first["Subject"] == second["Subject"]


def test_an_admission_run_tells_winners_and_the_entrants_it_left_out(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    app.change_settings(p.pid, {"phase_zero": True}, admin())
    for key in ("ada", "bo", "cy"):
        p.profile(key)
        app.enter_admission(p.pid, key, student(key))
    app.admit_students(p.pid, ["cy"], admin("staff child"))  # admitted before the run: not told twice
    run = app.start_admission(p.pid, {"7-12": 2}, admin(), seed=5)  # one place left for ada and bo
    app.commit_admission(UUID(run.ids["run_id"]), admin())

    notify(app, notify_settings, outbox)

    texts = {
        key: [m.get_body(("plain",)).get_content() for m in smtp_server.received.of(email_of(key))]
        for key in ("ada", "bo", "cy")
    }
    assert len(texts["cy"]) == 1  # the manual admission only
    told = sorted((len(texts[k]), "did not give you a place" in texts[k][0]) for k in ("ada", "bo"))
    assert told == [(1, False), (1, True)]


def test_students_without_an_address_are_counted_not_failed(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    p.profile("ada", email=False)
    p.profile("bo")
    p.add("ada")
    p.add("bo")
    app.cancel_section(p.section, admin())

    notify(app, notify_settings, outbox)

    assert smtp_server.received.to() == {email_of("bo"): 1}
    assert outbox.counts() == {"pending": 0, "sent": 1, "failed": 0, "no_address": 1}
    [row] = outbox.list(status="no_address")
    assert row.student_key == "ada"
    assert row.recipient is None
    assert row.attempts == 0


def test_history_before_the_first_start_is_not_mailed(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    p.profile("ada")
    p.add("ada")
    app.cancel_section(p.section, admin())  # before the notifier ever ran
    notifier = Notifier(app, outbox)  # first start: the log so far is history
    second = p.new_section()
    p.add("ada", second)
    app.cancel_section(second, admin())
    notifier.catch_up()
    Sender.for_settings(notify_settings, outbox).send_due()

    [mail] = smtp_server.received.of(email_of("ada"))
    assert "M101s2" in mail.get_body(("plain",)).get_content()


def test_a_lottery_commit_sends_one_message_per_student(app, notify_settings, outbox, smtp_server):
    program = generate_program(7, students=40, sections=24, classes=18, timeslots=4, days=1)
    stored = store_synthetic_program(app, program, admin())
    for section_id in stored.section_ids.values():  # 48 seats for 40 students: some get none
        app.change_capacity(section_id, admin(), max_class_capacity=2)
    keys = [s.key for s in program.students]
    without = set(keys[:5])
    for key in keys:
        contacts = {} if key in without else {"email": email_of(key)}
        app.submit_profile(stored.program_id, key, key, 2029, contacts, admin())
    run = app.start_lottery(stored.program_id, admin(), seed=3)
    app.commit_lottery(UUID(run.ids["run_id"]), admin())
    seated = {k for k in keys if app.get_student(stored.program_id, k).holding(ENROLLED)}
    assert len(seated) > 10  # the lottery seated many students, some with several seats
    chose = {s.key for s in program.students if s.stars or any(s.priorities.values())}
    unplaced = chose - seated
    assert unplaced

    # Small pages: the commit spans many of them and is still one message per student.
    notify(app, notify_settings, outbox, batch_size=7)

    told = seated | unplaced
    assert smtp_server.received.to() == {email_of(k): 1 for k in told - without}
    assert outbox.counts()["no_address"] == len(told & without)
    for key in seated - without:
        [mail] = smtp_server.received.of(email_of(key))
        seats = app.get_student(stored.program_id, key).holding(ENROLLED)
        assert mail.get_body(("plain",)).get_content().count("The lottery gave you a seat") == len(seats)
    for key in unplaced - without:
        [mail] = smtp_server.received.of(email_of(key))
        assert mail["Subject"].endswith("Your lottery results")
        assert "could not give you a seat in the classes you chose" in mail.get_body(("plain",)).get_content()


def test_a_class_change_commit_tells_each_mover_where_they_went_in_one_message(
    app, notify_settings, outbox, smtp_server
):
    p = Program(app, seats=1)
    other = p.new_section(p.new_class("P201", "Physics", 1, first_slot=True))  # P201s1, the same timeslot
    for key in ("ada", "bo", "cy"):
        p.profile(key)
    p.add("ada")
    p.add("bo", other)
    app.request_changes(p.pid, "ada", {other: 1}, student("ada"))
    app.request_changes(p.pid, "bo", {p.section: 1}, student("bo"))
    run = app.start_class_change(p.pid, admin(), seed=1)
    app.commit_class_change(UUID(run.ids["run_id"]), admin())

    notify(app, notify_settings, outbox)

    assert smtp_server.received.to() == {email_of("ada"): 1, email_of("bo"): 1}
    [mail] = smtp_server.received.of(email_of("ada"))
    assert mail["Subject"] == "Splash Fall: Your class-change results"
    text = mail.get_body(("plain",)).get_content()
    assert "Class change: you left M101s1 (Mechanics)." in text
    assert "Class change: you are now enrolled in P201s1 (Physics)." in text


def test_a_tail_of_other_events_is_skipped_and_recorded(app, notify_settings, outbox, smtp_server, monkeypatch):
    monkeypatch.setattr("regledger.adapters.notifier.follower.SKIP_RECORDED", 3)
    p = Program(app)
    p.profile("ada")
    notifier = Notifier(app, outbox, from_start=True)
    notifier.catch_up()
    at = outbox.position()
    for _ in range(3):
        app.star(p.pid, "ada", p.subject, student("ada"))  # nothing to tell anyone
        app.unstar(p.pid, "ada", p.subject, student("ada"))
    head = app.recorder.max_notification_id()
    assert notifier.step() == 0
    assert outbox.position() == head > at  # recorded: a restart does not scan them again
    p.add("ada")
    app.drop_section(p.pid, "ada", p.section, admin())
    assert notifier.catch_up() > 0
    assert [r.kind for r in outbox.list()] == ["admin_drop"]


def test_a_second_notifier_on_the_same_outbox_writes_nothing_twice(app, notify_settings, outbox, smtp_server):
    p = Program(app, seats=10)
    keys = [f"s{n}" for n in range(6)]
    for key in keys:
        p.profile(key)
        p.add(key)
        app.drop_section(p.pid, key, p.section, admin())
    other = open_outbox(notify_settings)
    try:
        first = Notifier(app, outbox, from_start=True, batch_size=2)
        second = Notifier(app, other, from_start=True, batch_size=2)
        refused = 0
        for _ in range(40):
            for notifier in (first, second):
                try:
                    notifier.step()
                except PositionAlreadyApplied:
                    refused += 1
    finally:
        other.close()
    assert refused > 0  # they did race
    assert sorted(r.student_key for r in outbox.list()) == keys
    assert first.messages + second.messages == len(keys)
