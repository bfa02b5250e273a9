from __future__ import annotations

import json
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regledger.domain.constraints import (
    MAX_DEPTH,
    MAX_NODES,
    All,
    Any,
    CategoryInTimeslot,
    Constant,
    EnrolledInClass,
    Expression,
    Not,
    ScheduleConstraint,
    ScheduledSection,
    ScheduleMap,
    SectionInTimeslot,
    TimeslotOccupied,
    parse_expression,
    referenced_ids,
)
from regledger.domain.errors import InvalidInputError, MalformedConstraintError
from regledger.domain.lunch import lunch_constraints
from regledger.domain.rules import add_refusal_message, removal_refusal_message

TRUE = Constant(True)
FALSE = Constant(False)

# Small fixed pools so random expressions and random schedules actually meet.
TIMESLOTS = tuple(UUID(int=0x1000 + n) for n in range(4))
SUBJECTS = tuple(UUID(int=0x2000 + n) for n in range(3))
SECTIONS = tuple(UUID(int=0x3000 + n) for n in range(5))
CATEGORIES = ("Lunch", "Math", "Art")

T1, T2, T3, T4 = TIMESLOTS


def section(
    timeslots: tuple[UUID, ...],
    category: str = "Math",
    subject_id: UUID | None = None,
    section_id: UUID | None = None,
) -> ScheduledSection:
    return ScheduledSection(
        section_id=section_id or uuid4(),
        subject_id=subject_id or uuid4(),
        category=category,
        timeslot_ids=timeslots,
    )


# --- ScheduleMap ---------------------------------------------------------------------------


def test_schedule_map_indexes_sections_by_every_timeslot_they_occupy() -> None:
    double = section((T1, T2))
    single = section((T2,))
    schedule = ScheduleMap([double, single])

    assert schedule.sections_in(T1) == (double,)
    assert schedule.sections_in(T2) == (double, single)
    assert schedule.sections_in(T3) == ()
    assert schedule.sections == (double, single)


def test_schedule_map_knows_which_subjects_are_enrolled() -> None:
    s = section((T1,))
    schedule = ScheduleMap([s])

    assert schedule.has_subject(s.subject_id)
    assert not schedule.has_subject(uuid4())


def test_with_added_returns_a_new_map_and_leaves_the_original_alone() -> None:
    original = ScheduleMap()
    s = section((T1,))

    added = original.with_added(s)

    assert added.sections_in(T1) == (s,)
    assert original.sections_in(T1) == ()


def test_adding_a_section_already_in_the_map_does_not_count_it_twice() -> None:
    s = section((T1,))

    assert ScheduleMap([s]).with_added(s).sections_in(T1) == (s,)


def test_with_removed_drops_the_section_from_every_timeslot() -> None:
    s = section((T1, T2))
    other = section((T2,))
    schedule = ScheduleMap([s, other])

    removed = schedule.with_removed(s.section_id)

    assert removed.sections_in(T1) == ()
    assert removed.sections_in(T2) == (other,)
    assert not removed.has_subject(s.subject_id)
    assert schedule.sections_in(T1) == (s,)


def test_removing_a_section_that_is_not_there_changes_nothing() -> None:
    s = section((T1,))

    assert ScheduleMap([s]).with_removed(uuid4()).sections == (s,)


# --- node truth tables ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False])
def test_constant_evaluates_to_its_value(value: bool) -> None:
    assert Constant(value).evaluate(ScheduleMap()) is value


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ((), True),
        ((TRUE,), True),
        ((FALSE,), False),
        ((TRUE, TRUE), True),
        ((TRUE, FALSE), False),
        ((FALSE, TRUE), False),
        ((FALSE, FALSE), False),
    ],
)
def test_all_is_true_only_when_every_item_is_true(items: tuple[Expression, ...], expected: bool) -> None:
    assert All(items).evaluate(ScheduleMap()) is expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ((), False),
        ((TRUE,), True),
        ((FALSE,), False),
        ((TRUE, TRUE), True),
        ((TRUE, FALSE), True),
        ((FALSE, TRUE), True),
        ((FALSE, FALSE), False),
    ],
)
def test_any_is_true_when_at_least_one_item_is_true(items: tuple[Expression, ...], expected: bool) -> None:
    assert Any(items).evaluate(ScheduleMap()) is expected


@pytest.mark.parametrize(("item", "expected"), [(TRUE, False), (FALSE, True)])
def test_not_inverts_its_item(item: Expression, expected: bool) -> None:
    assert Not(item).evaluate(ScheduleMap()) is expected


def test_enrolled_in_class_checks_the_subject_not_the_section() -> None:
    s = section((T1,))
    expr = EnrolledInClass(s.subject_id)

    assert expr.evaluate(ScheduleMap([s]))
    assert not expr.evaluate(ScheduleMap())
    assert not EnrolledInClass(s.section_id).evaluate(ScheduleMap([s]))


def test_timeslot_occupied_is_true_for_any_section_in_that_slot() -> None:
    schedule = ScheduleMap([section((T1, T2))])

    assert TimeslotOccupied(T1).evaluate(schedule)
    assert TimeslotOccupied(T2).evaluate(schedule)
    assert not TimeslotOccupied(T3).evaluate(schedule)
    assert not TimeslotOccupied(T1).evaluate(ScheduleMap())


def test_category_in_timeslot_needs_that_category_in_that_slot() -> None:
    schedule = ScheduleMap([section((T1,), "Lunch"), section((T2,), "Math")])

    assert CategoryInTimeslot("Lunch", T1).evaluate(schedule)
    assert not CategoryInTimeslot("Lunch", T2).evaluate(schedule)
    assert not CategoryInTimeslot("lunch", T1).evaluate(schedule)
    assert not CategoryInTimeslot("Lunch", T3).evaluate(schedule)


def test_section_in_timeslot_needs_one_of_the_listed_sections_in_that_slot() -> None:
    a, b, c = SECTIONS[:3]
    schedule = ScheduleMap([section((T1,), section_id=a), section((T2,), section_id=c)])

    assert SectionInTimeslot((a, b), T1).evaluate(schedule)
    assert SectionInTimeslot((b, a), T1).evaluate(schedule)
    assert not SectionInTimeslot((b,), T1).evaluate(schedule)
    assert not SectionInTimeslot((a, b), T2).evaluate(schedule)
    assert not SectionInTimeslot((), T1).evaluate(schedule)


# --- ScheduleConstraint ----------------------------------------------------------------------


def constraint(condition: Expression, requirement: Expression) -> ScheduleConstraint:
    return ScheduleConstraint(uuid4(), "take Algebra", condition, requirement)


@pytest.mark.parametrize(
    ("condition", "requirement", "expected"),
    [(FALSE, FALSE, True), (FALSE, TRUE, True), (TRUE, FALSE, False), (TRUE, TRUE, True)],
)
def test_a_constraint_is_an_implication(condition: Expression, requirement: Expression, expected: bool) -> None:
    assert constraint(condition, requirement).is_satisfied(ScheduleMap()) is expected


def test_a_constraint_whose_condition_is_false_is_satisfied_whatever_the_requirement() -> None:
    rule = constraint(TimeslotOccupied(T1), EnrolledInClass(SUBJECTS[0]))

    assert rule.is_satisfied(ScheduleMap([section((T2,))]))


def test_adding_a_class_is_checked_against_the_schedule_after_the_fake_add() -> None:
    # "Anyone taking a class in T1 must also be enrolled in the Algebra subject."
    algebra = SUBJECTS[0]
    rule = constraint(TimeslotOccupied(T1), EnrolledInClass(algebra))
    schedule = ScheduleMap([section((T2,))])
    candidate = section((T1,))

    assert rule.is_satisfied(schedule)
    assert not rule.is_satisfied(schedule.with_added(candidate))
    with_algebra = schedule.with_added(section((T3,), subject_id=algebra))
    assert rule.is_satisfied(with_algebra.with_added(candidate))


def test_removing_a_required_class_is_checked_after_the_fake_remove() -> None:
    algebra_section = section((T3,), subject_id=SUBJECTS[0])
    rule = constraint(TimeslotOccupied(T1), EnrolledInClass(SUBJECTS[0]))
    schedule = ScheduleMap([section((T1,)), algebra_section])

    assert rule.is_satisfied(schedule)
    assert not rule.is_satisfied(schedule.with_removed(algebra_section.section_id))


@pytest.mark.parametrize("label", ["", "   "])
def test_a_constraint_needs_a_label(label: str) -> None:
    with pytest.raises(MalformedConstraintError, match="label"):
        ScheduleConstraint(uuid4(), label, TRUE, TRUE)


def test_a_constraint_round_trips_through_json() -> None:
    rule = ScheduleConstraint(uuid4(), "choose a lunch period on Saturday", TimeslotOccupied(T1), Any((TRUE, FALSE)))

    document = json.loads(json.dumps(rule.to_json()))

    assert ScheduleConstraint.from_json(document) == rule
    assert ScheduleConstraint.from_json(document).to_json() == document


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"id": "x", "label": "a", "condition": {}, "requirement": {}}, "id: not a UUID"),
        ({"id": str(T1), "label": "", "condition": {}, "requirement": {}}, "label:"),
        ({"id": str(T1), "label": 3, "condition": {}, "requirement": {}}, "label:"),
        ({"id": str(T1), "label": "a", "condition": [], "requirement": {}}, "condition:"),
        (
            {
                "id": str(T1),
                "label": "a",
                "condition": {"op": "constant", "value": True},
                "requirement": {"op": "not", "item": {"op": "nope"}},
            },
            "requirement.item.op: unknown op 'nope'",
        ),
        ({"id": str(T1), "label": "a", "condition": {}}, "missing key 'requirement'"),
    ],
)
def test_a_malformed_constraint_document_is_refused_with_its_path(document: object, path: str) -> None:
    with pytest.raises(MalformedConstraintError) as raised:
        ScheduleConstraint.from_json(document)

    assert path in raised.value.message


# --- messages --------------------------------------------------------------------------------


def test_the_add_refusal_uses_esps_wording() -> None:
    assert add_refusal_message("Intro to Knots", "choose a lunch period on Saturday") == (
        "Adding <i>Intro to Knots</i> to your schedule requires that you choose a lunch "
        "period on Saturday.  You can go back and correct this."
    )


def test_the_removal_refusal_uses_esps_wording() -> None:
    assert removal_refusal_message("choose a lunch period on Sunday") == (
        "You can't remove this class from your schedule because it would violate the "
        "requirement that you choose a lunch period on Sunday.  You can go back and correct this."
    )


# --- referenced ids --------------------------------------------------------------------------


def test_referenced_ids_collects_every_id_in_the_tree() -> None:
    expr = All(
        (
            Not(EnrolledInClass(SUBJECTS[0])),
            Any((TimeslotOccupied(T1), CategoryInTimeslot("Lunch", T2), TRUE)),
            SectionInTimeslot((SECTIONS[0], SECTIONS[1]), T3),
        )
    )

    assert referenced_ids(expr) == {SUBJECTS[0], T1, T2, T3, SECTIONS[0], SECTIONS[1]}


def test_constants_reference_nothing() -> None:
    assert referenced_ids(All((TRUE, Not(FALSE)))) == frozenset()


# --- lunch constraints -----------------------------------------------------------------------

SATURDAY = datetime(2025, 11, 15)
SUNDAY = SATURDAY + timedelta(days=1)


def slot(day: datetime, hour: int) -> tuple[UUID, datetime, datetime]:
    start = day.replace(hour=hour)
    return uuid4(), start, start + timedelta(minutes=50)


@pytest.fixture
def saturday() -> dict[str, tuple[UUID, datetime, datetime]]:
    return {
        "morning": slot(SATURDAY, 10),
        "lunch1": slot(SATURDAY, 11),
        "lunch2": slot(SATURDAY, 12),
        "afternoon": slot(SATURDAY, 14),
    }


def saturday_lunch_rule(
    slots: dict[str, tuple[UUID, datetime, datetime]], include_conditions: bool = True
) -> ScheduleConstraint:
    [(label, condition, requirement)] = lunch_constraints(
        list(slots.values()),
        [slots["lunch1"][0], slots["lunch2"][0]],
        "Lunch",
        include_conditions=include_conditions,
    )
    return ScheduleConstraint(uuid4(), label, condition, requirement)


def test_a_student_with_morning_and_afternoon_classes_but_no_lunch_breaks_the_rule(
    saturday: dict[str, tuple[UUID, datetime, datetime]],
) -> None:
    schedule = ScheduleMap([section((saturday["morning"][0],)), section((saturday["afternoon"][0],))])

    assert not saturday_lunch_rule(saturday).is_satisfied(schedule)


def test_a_class_that_is_not_lunch_in_a_lunch_slot_does_not_count_as_lunch(
    saturday: dict[str, tuple[UUID, datetime, datetime]],
) -> None:
    schedule = ScheduleMap(
        [
            section((saturday["morning"][0],)),
            section((saturday["lunch1"][0],), "Math"),
            section((saturday["afternoon"][0],)),
        ]
    )

    assert not saturday_lunch_rule(saturday).is_satisfied(schedule)


@pytest.mark.parametrize("lunch_slot", ["lunch1", "lunch2"])
def test_a_lunch_section_in_any_lunch_slot_satisfies_the_rule(
    saturday: dict[str, tuple[UUID, datetime, datetime]], lunch_slot: str
) -> None:
    schedule = ScheduleMap(
        [
            section((saturday["morning"][0],)),
            section((saturday[lunch_slot][0],), "Lunch"),
            section((saturday["afternoon"][0],)),
        ]
    )

    assert saturday_lunch_rule(saturday).is_satisfied(schedule)


@pytest.mark.parametrize("only", ["morning", "afternoon"])
def test_a_student_with_classes_on_one_side_of_lunch_only_needs_no_lunch(
    saturday: dict[str, tuple[UUID, datetime, datetime]], only: str
) -> None:
    schedule = ScheduleMap([section((saturday[only][0],))])

    assert saturday_lunch_rule(saturday).is_satisfied(schedule)


def test_without_conditions_every_student_must_choose_lunch(
    saturday: dict[str, tuple[UUID, datetime, datetime]],
) -> None:
    rule = saturday_lunch_rule(saturday, include_conditions=False)

    assert rule.condition == Constant(True)
    assert not rule.is_satisfied(ScheduleMap())
    assert rule.is_satisfied(ScheduleMap([section((saturday["lunch2"][0],), "Lunch")]))


def test_lunch_conditions_split_the_day_at_the_lunch_slots(
    saturday: dict[str, tuple[UUID, datetime, datetime]],
) -> None:
    rule = saturday_lunch_rule(saturday)

    assert rule.condition == All(
        (
            Any((TimeslotOccupied(saturday["morning"][0]),)),
            Any((TimeslotOccupied(saturday["afternoon"][0]),)),
        )
    )
    assert rule.requirement == Any(
        (
            CategoryInTimeslot("Lunch", saturday["lunch1"][0]),
            CategoryInTimeslot("Lunch", saturday["lunch2"][0]),
        )
    )


def test_lunch_constraints_come_one_per_day_with_lunch_in_day_order() -> None:
    sunday_lunch = slot(SUNDAY, 12)
    saturday_lunch = slot(SATURDAY, 12)
    friday_only = slot(SATURDAY - timedelta(days=1), 12)
    timeslots = [slot(SUNDAY, 9), sunday_lunch, friday_only, saturday_lunch, slot(SATURDAY, 15)]

    generated = lunch_constraints(timeslots, {sunday_lunch[0], saturday_lunch[0]}, "Lunch")

    assert [label for label, _, _ in generated] == [
        "choose a lunch period on Saturday",
        "choose a lunch period on Sunday",
    ]


def test_a_lunch_slot_that_is_not_a_program_timeslot_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        lunch_constraints([slot(SATURDAY, 10)], [uuid4()], "Lunch")


# --- parsing ---------------------------------------------------------------------------------

UUID_TEXT = str(T1)
LETTERED_UUID = "5b0c1e39-2f4e-4d8a-9a57-6a3f0c2d7e11"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "(root): not an object"),
        ({"items": []}, "(root): missing key 'op'"),
        ({"op": 3}, "op: not a string"),
        ({"op": "xor", "items": []}, "op: unknown op 'xor'"),
        ({"op": "all"}, "(root): missing key 'items'"),
        ({"op": "all", "items": [], "extra": 1}, "(root): unexpected key 'extra'"),
        ({"op": "all", "items": {}}, "items: not a list"),
        ({"op": "constant", "value": 1}, "value: not a boolean"),
        ({"op": "constant", "value": "true"}, "value: not a boolean"),
        (
            {
                "op": "any",
                "items": [
                    {"op": "constant", "value": True},
                    {"op": "constant", "value": False},
                    {"op": "timeslot_occupied", "timeslot_id": "nope"},
                ],
            },
            "items[2].timeslot_id: not a UUID",
        ),
        ({"op": "not", "item": "x"}, "item: not an object"),
        ({"op": "enrolled_in_class", "subject_id": 7}, "subject_id: not a UUID string"),
        (
            {"op": "enrolled_in_class", "subject_id": LETTERED_UUID.upper()},
            "subject_id: not a UUID in canonical form",
        ),
        (
            {"op": "enrolled_in_class", "subject_id": LETTERED_UUID.replace("-", "")},
            "subject_id: not a UUID in canonical form",
        ),
        (
            {"op": "category_in_timeslot", "category": "", "timeslot_id": UUID_TEXT},
            "category: must be a non-empty string",
        ),
        (
            {"op": "section_in_timeslot", "section_ids": UUID_TEXT, "timeslot_id": UUID_TEXT},
            "section_ids: not a list",
        ),
        (
            {
                "op": "section_in_timeslot",
                "section_ids": [UUID_TEXT, "bad"],
                "timeslot_id": UUID_TEXT,
            },
            "section_ids[1]: not a UUID",
        ),
        (
            {
                "op": "section_in_timeslot",
                "section_ids": [UUID_TEXT, UUID_TEXT],
                "timeslot_id": UUID_TEXT,
            },
            "section_ids[1]: duplicate section id",
        ),
        (
            {"op": "not", "item": {"op": "all", "items": [{"op": "any", "items": [None]}]}},
            "item.items[0].items[0]: not an object",
        ),
    ],
)
def test_malformed_expressions_are_refused_with_the_path_of_the_problem(document: object, message: str) -> None:
    with pytest.raises(MalformedConstraintError) as raised:
        parse_expression(document)

    assert raised.value.message.startswith(message)
    assert raised.value.code == "malformed_constraint"


def nested_nots(depth: int) -> dict[str, object]:
    document: dict[str, object] = {"op": "constant", "value": True}
    for _ in range(depth - 1):
        document = {"op": "not", "item": document}
    return document


def test_nesting_up_to_the_depth_limit_is_accepted() -> None:
    parsed = parse_expression(nested_nots(MAX_DEPTH))

    assert parsed.evaluate(ScheduleMap()) is (MAX_DEPTH % 2 == 1)


def test_nesting_past_the_depth_limit_is_refused() -> None:
    with pytest.raises(MalformedConstraintError, match="nested deeper than 32"):
        parse_expression(nested_nots(MAX_DEPTH + 1))


def constants(count: int) -> dict[str, object]:
    return {"op": "all", "items": [{"op": "constant", "value": True}] * count}


def test_an_expression_of_exactly_the_node_limit_is_accepted() -> None:
    assert parse_expression(constants(MAX_NODES - 1)) == All((TRUE,) * (MAX_NODES - 1))


def test_an_expression_past_the_node_limit_is_refused() -> None:
    with pytest.raises(MalformedConstraintError, match=r"items\[999\]: .*more than 1000 nodes"):
        parse_expression(constants(MAX_NODES))


def test_the_node_limit_counts_across_branches() -> None:
    half = constants(MAX_NODES // 2)

    with pytest.raises(MalformedConstraintError, match="more than 1000 nodes"):
        parse_expression({"op": "any", "items": [half, half]})


# --- round-trip property ---------------------------------------------------------------------

leaves: st.SearchStrategy[Expression] = st.one_of(
    st.builds(Constant, st.booleans()),
    st.builds(EnrolledInClass, st.sampled_from(SUBJECTS)),
    st.builds(TimeslotOccupied, st.sampled_from(TIMESLOTS)),
    st.builds(CategoryInTimeslot, st.sampled_from(CATEGORIES), st.sampled_from(TIMESLOTS)),
    st.builds(
        SectionInTimeslot,
        st.lists(st.sampled_from(SECTIONS), unique=True).map(tuple),
        st.sampled_from(TIMESLOTS),
    ),
)


def branches(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    items = st.lists(children, max_size=4).map(tuple)
    return st.one_of(st.builds(All, items), st.builds(Any, items), st.builds(Not, children))


expressions = st.recursive(leaves, branches, max_leaves=30)

scheduled_sections = st.builds(
    ScheduledSection,
    section_id=st.sampled_from(SECTIONS),
    subject_id=st.sampled_from(SUBJECTS),
    category=st.sampled_from(CATEGORIES),
    timeslot_ids=st.lists(st.sampled_from(TIMESLOTS), min_size=1, max_size=2).map(tuple),
)
schedules = st.lists(scheduled_sections, max_size=5).map(ScheduleMap)


@given(expr=expressions, schedule_list=st.lists(schedules, min_size=1, max_size=4))
def test_expressions_survive_a_json_round_trip_and_evaluate_the_same(
    expr: Expression, schedule_list: list[ScheduleMap]
) -> None:
    document = json.loads(json.dumps(expr.to_json()))

    parsed = parse_expression(document)

    assert parsed == expr
    assert parsed.to_json() == document
    for schedule in schedule_list:
        assert parsed.evaluate(schedule) == expr.evaluate(schedule)


@given(expr=expressions)
def test_referenced_ids_are_exactly_the_ids_in_the_json(expr: Expression) -> None:
    text = json.dumps(expr.to_json())
    pool = (*TIMESLOTS, *SUBJECTS, *SECTIONS)

    assert referenced_ids(expr) == {u for u in pool if str(u) in text}
