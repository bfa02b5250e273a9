"""The import endpoints over the real app: JSON and CSV bodies, dry runs, errors with lines."""

from __future__ import annotations

from pathlib import Path

SLUG = "splash"

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
CSV = {"Content-Type": "text/csv; charset=utf-8"}
JSON = {"Content-Type": "application/json"}


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def create_program(api, slug: str = SLUG) -> None:
    api.ok("POST", "/programs", json={"slug": slug, "title": "Splash", "school_year": 2027})


def post(api, url: str, body: bytes, headers: dict[str, str], **extra: str):
    return api.client.post(url, content=body, headers={**api.admin, **headers, **extra})


def test_a_csv_catalogue_with_its_timeslots_is_created_once_then_unchanged(api):
    create_program(api)
    slots = post(api, f"/programs/{SLUG}/timeslots/import", example("timeslots.csv"), CSV)
    assert slots.status_code == 201, slots.text
    assert slots.json()["counts"]["timeslot"]["created"] == 4
    first = post(api, f"/programs/{SLUG}/catalogue", example("catalogue.csv"), CSV)
    assert first.status_code == 201, first.text
    assert first.json()["counts"]["section"] == {"created": 5, "changed": 0, "unchanged": 0}
    head = api.head()
    again = post(api, f"/programs/{SLUG}/catalogue", example("catalogue.csv"), CSV)
    assert again.status_code == 200
    body = again.json()
    assert (body["outcome"], body["changes"]) == ("Unchanged", [])
    assert body["counts"]["class"] == {"created": 0, "changed": 0, "unchanged": 5}
    assert api.head() == head


def test_a_json_catalogue_dry_run_answers_the_plan_and_writes_nothing(api):
    create_program(api)
    head = api.head()
    plan = post(api, f"/programs/{SLUG}/catalogue?dry_run=true", example("catalogue.json"), JSON)
    assert plan.status_code == 200, plan.text
    assert plan.json()["dry_run"] is True
    assert plan.json()["counts"]["timeslot"]["created"] == 4
    assert api.head() == head
    done = post(api, f"/programs/{SLUG}/catalogue", example("catalogue.json"), JSON)
    assert done.status_code == 201
    assert done.json()["counts"] == plan.json()["counts"]


def test_a_bad_file_is_a_422_listing_every_error_with_its_line_and_nothing_is_written(api):
    create_program(api)
    post(api, f"/programs/{SLUG}/timeslots/import", example("timeslots.csv"), CSV)
    head = api.head()
    bad = b"code,title,section,timeslots,room_capacity\nM1,Knots,1,Sat 9:00,-3\nM1,Knots,1,Sun 9:00,\n"
    response = post(api, f"/programs/{SLUG}/catalogue", bad, CSV)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert [(e["line"], e["field"]) for e in body["detail"]["errors"]] == [
        (2, "room_capacity"),
        (3, "section"),
        (3, "timeslots"),
    ]
    assert api.head() == head


def test_an_unknown_column_in_json_or_csv_is_a_422_with_its_line(api):
    create_program(api)
    csv_response = post(api, f"/programs/{SLUG}/students/import", b"key,name,year\ns1,Ada,2029\n", CSV)
    json_body = b'{"students": [\n  {"key": "s1", "name": "Ada", "graduation_year": 2029, "year": 1}\n]}'
    json_response = post(api, f"/programs/{SLUG}/students/import", json_body, JSON)
    assert csv_response.status_code == json_response.status_code == 422
    assert [(e["line"], e["field"]) for e in csv_response.json()["detail"]["errors"]] == [
        (1, "year"),
        (1, "graduation_year"),
    ]
    assert [(e["line"], e["field"]) for e in json_response.json()["detail"]["errors"]] == [(2, "year")]


def test_students_import_from_csv_then_json_and_an_idempotency_key_replays(api):
    create_program(api)
    key = {"Idempotency-Key": "students-1"}
    first = post(api, f"/programs/{SLUG}/students/import", example("students.csv"), {**CSV, **key})
    assert first.status_code == 201, first.text
    head = api.head()
    replay = post(api, f"/programs/{SLUG}/students/import", example("students.csv"), {**CSV, **key})
    assert (replay.status_code, replay.json()["replayed"]) == (200, True)
    same = post(api, f"/programs/{SLUG}/students/import", example("students.json"), JSON)
    assert same.status_code == 200
    assert same.json()["counts"]["student"] == {"created": 0, "changed": 0, "unchanged": 3}
    assert api.head() == head


def test_a_capacity_of_zero_is_a_warning_in_the_answer(api):
    create_program(api)
    post(api, f"/programs/{SLUG}/timeslots/import", example("timeslots.csv"), CSV)
    response = post(api, f"/programs/{SLUG}/catalogue", b"code,title,section,timeslots\nZ1,No size,1,Sat 9:00\n", CSV)
    assert response.status_code == 201
    [warning] = response.json()["warnings"]
    assert (warning["line"], warning["field"], warning["type"]) == (2, "capacity", "warning")


def test_imports_need_an_admin_token_and_a_csv_or_json_body(api):
    create_program(api)
    student = post(api, f"/programs/{SLUG}/students/import", example("students.csv"), {**CSV, **api.student("s1")})
    assert student.status_code == 403
    plain = post(api, f"/programs/{SLUG}/students/import", example("students.csv"), {"Content-Type": "text/plain"})
    assert (plain.status_code, plain.json()["code"]) == (415, "unsupported_media_type")
    missing = post(api, "/programs/nowhere/students/import", example("students.csv"), CSV)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_the_openapi_schema_documents_both_body_types(api):
    spec = api.client.get("/openapi.json").json()
    body = spec["paths"]["/programs/{slug}/catalogue"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/csv"}
    assert "classes" in body["application/json"]["schema"]["properties"]
