"""The workspace's CSV files: export then import gives back the same roster and pipeline, whatever their text
and figures; a bad file is refused as a whole, with every error at its row and column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.contract import GRADES, UNIT_KINDS, Demand, Opportunity, Staff, Unit, parse_request
from service.workspace.csv_files import (
    OPPORTUNITY_COLUMNS,
    STAFF_COLUMNS,
    CsvInvalid,
    opportunities_csv,
    parse_opportunities_csv,
    parse_staff_csv,
    staff_csv,
)
from tests.budget import examples
from tests.strategies import small_requests

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
STAGE_FILES = ("new-market", "fast-growth", "mature-market")

# Any text a CRM might send: commas, quotes, line breaks, `;`, `:`, backslashes, spaces at the ends, other scripts.
# Lone surrogates are left out: they cannot be UTF-8 at all, so no client can send them.
CHARACTERS = st.characters(exclude_categories=("Cs",))
TEXT = st.text(CHARACTERS, max_size=8) | st.sampled_from(["", " a; b:c ", '"q",\r\n', "\\;", "Zhāng Wěi"])
IDS = st.text(CHARACTERS, min_size=1, max_size=8) | st.sampled_from(["s-1", " ", "a;b", "x:1", "\\", "a\\;"])
HOURS = st.floats(0, 168) | st.integers(0, 168) | st.sampled_from([7.5, 0.1, 1e-07, 40.0])
MONEY = st.floats(0, 1e15) | st.integers(0, 10**15) | st.sampled_from([87.5, 99.99, 1e15, 0.30000000000000004])
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


def by_id(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: item.id)


@st.composite
def rosters(draw: Any, weeks: int) -> list[Staff]:
    """People with any text, any figures the contract allows, both kinds of capacity, every optional field."""
    return [
        Staff(
            id=staff_id,
            name=draw(TEXT),
            role=draw(TEXT),
            unit=Unit(kind=draw(st.sampled_from(UNIT_KINDS)), id=draw(IDS), region=draw(IDS)),
            skills=draw(st.dictionaries(IDS, st.integers(1, 5), max_size=4)),
            hourly_rate=draw(MONEY),
            capacity_hours=draw(HOURS | st.lists(HOURS, min_size=weeks, max_size=weeks)),
            can_lead=draw(st.booleans()),
            max_opportunities=draw(st.none() | st.integers(0, 10**6)),
        )
        for staff_id in draw(st.lists(IDS, unique=True, max_size=5))
    ]


@st.composite
def demands(draw: Any, weeks: int) -> Demand:
    start = draw(st.integers(0, weeks - 1))
    return Demand(
        id=draw(IDS),
        skill=draw(IDS),
        min_level=draw(st.integers(1, 5)),
        hours_per_week=draw(st.floats(0, 168, exclude_min=True) | st.sampled_from([0.5, 8, 24])),
        start_week=start,
        end_week=draw(st.integers(start, weeks - 1)),
        headcount=draw(st.integers(1, 50)),
        remote_ok=draw(st.booleans()),
    )


@st.composite
def pipelines(draw: Any, weeks: int) -> list[Opportunity]:
    """Deals with any text and figures, zero to three demands (ids unique in their deal), every optional field."""
    deals = []
    for deal_id in draw(st.lists(IDS, unique=True, max_size=4)):
        deal_demands = draw(st.lists(demands(weeks), max_size=3, unique_by=lambda demand: demand.id))
        deals.append(
            Opportunity(
                id=deal_id,
                name=draw(TEXT),
                customer=draw(TEXT),
                grade=draw(st.sampled_from(GRADES)),
                stage=draw(TEXT),
                region=draw(IDS),
                industry=draw(TEXT),
                deal_value=draw(MONEY),
                win_probability=draw(st.floats(0, 1) | st.sampled_from([0.333, 1, 0])),
                presales_budget=draw(st.none() | MONEY),
                demands=deal_demands,
                excluded_staff=draw(st.lists(IDS, max_size=3)),
            )
        )
    return deals


# --------------------------------------------------------------------------- round trip


@settings(max_examples=examples(300), deadline=None, suppress_health_check=HEALTH)
@given(data=st.data())
def test_any_roster_reads_back_exactly_as_exported(data: st.DataObject) -> None:
    weeks = data.draw(st.integers(1, 6), label="weeks")
    staff = data.draw(rosters(weeks), label="staff")
    text = staff_csv(staff)
    assert parse_staff_csv(text, weeks) == by_id(staff)
    # As Excel saves it: a byte order mark before the UTF-8 bytes.
    assert parse_staff_csv(("\ufeff" + text).encode("utf-8"), weeks) == by_id(staff)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=HEALTH)
@given(data=st.data())
def test_any_pipeline_reads_back_exactly_as_exported(data: st.DataObject) -> None:
    weeks = data.draw(st.integers(1, 6), label="weeks")
    opportunities = data.draw(pipelines(weeks), label="opportunities")
    text = opportunities_csv(opportunities)
    assert parse_opportunities_csv(text, weeks) == by_id(opportunities)
    assert parse_opportunities_csv(text.encode("utf-8"), weeks) == by_id(opportunities)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=HEALTH)
@given(small_requests())
def test_a_generated_request_reads_back_without_its_pins_and_leads(data: dict[str, Any]) -> None:
    request = parse_request(data)
    weeks = request.horizon.weeks
    assert parse_staff_csv(staff_csv(request.staff), weeks) == by_id(request.staff)
    workspace = [o.model_copy(update={"pinned": [], "lead_staff_id": None}) for o in request.opportunities]
    assert parse_opportunities_csv(opportunities_csv(request.opportunities), weeks) == by_id(workspace)


@pytest.mark.parametrize("stage", STAGE_FILES)
def test_each_scenario_csv_pair_loads_the_roster_and_pipeline_of_its_json(stage: str) -> None:
    request = parse_request(json.loads((SCENARIOS / f"{stage}.json").read_text(encoding="utf-8")))
    weeks = request.horizon.weeks
    staff = parse_staff_csv((SCENARIOS / f"{stage}.staff.csv").read_bytes(), weeks)
    opportunities = parse_opportunities_csv((SCENARIOS / f"{stage}.opportunities.csv").read_bytes(), weeks)
    assert staff == by_id(request.staff)
    assert opportunities == by_id(request.opportunities)


# --------------------------------------------------------------------------- what the files look like


def person(staff_id: str = "s-1", **fields: Any) -> Staff:
    unit = {"kind": "local_office", "id": "office-east", "region": "east"}
    data = {"id": staff_id, "unit": unit, "skills": {"crm": 3}, "hourly_rate": 80, "capacity_hours": 40, **fields}
    return Staff.model_validate(data)


def deal(deal_id: str = "o-1", **fields: Any) -> Opportunity:
    data = {"id": deal_id, "grade": "B", "region": "east", "deal_value": 500_000, "win_probability": 0.5, **fields}
    return Opportunity.model_validate({"demands": [], **data})


def rows(text: str) -> list[str]:
    return text.split("\r\n")


def test_staff_file_has_one_row_a_person_sorted_by_id_with_readable_figures() -> None:
    team = [
        person("s-2", name="Li Na", skills={"crm": 3, "erp": 5}, hourly_rate=87.5, capacity_hours=[40, 0.1, 32]),
        person("s-1", role="architect", can_lead=True, max_opportunities=2, hourly_rate=100.0),
    ]
    assert rows(staff_csv(team)) == [
        ",".join(STAFF_COLUMNS),
        "s-1,,architect,local_office,office-east,east,crm:3,100,40,true,2",
        "s-2,Li Na,,local_office,office-east,east,crm:3;erp:5,87.5,40;0.1;32,false,",
        "",
    ]


def test_a_viewers_files_have_no_rate_and_no_budget_column_nor_figure() -> None:
    text = staff_csv([person(hourly_rate=123.45), person("s-2", hourly_rate=67.89)], with_rates=False)
    assert rows(text)[0] == ",".join(column for column in STAFF_COLUMNS if column != "hourly_rate")
    assert "123.45" not in text
    assert "67.89" not in text
    text = opportunities_csv([deal(presales_budget=4321.5), deal("o-2")], with_budgets=False)
    assert rows(text)[0] == ",".join(column for column in OPPORTUNITY_COLUMNS if column != "presales_budget")
    assert "4321.5" not in text


def test_opportunity_file_has_one_row_a_demand_and_one_row_for_a_deal_without_demands() -> None:
    crm = {"id": "crm", "skill": "crm", "min_level": 3, "hours_per_week": 7.5, "start_week": 0, "end_week": 3}
    erp = {**crm, "id": "erp", "skill": "erp", "headcount": 2, "remote_ok": True}
    pipeline = [
        deal("o-2", name="Portal, phase 2", demands=[crm, erp], excluded_staff=["s-1", "s-2"], presales_budget=9000),
        deal("o-1", stage="qualified"),
    ]
    assert rows(opportunities_csv(pipeline)) == [
        ",".join(OPPORTUNITY_COLUMNS),
        "o-1,,,B,qualified,east,,500000,0.5,,,,,,,,,,",
        'o-2,"Portal, phase 2",,B,,east,,500000,0.5,9000,s-1;s-2,crm,crm,3,7.5,0,3,1,false',
        'o-2,"Portal, phase 2",,B,,east,,500000,0.5,9000,s-1;s-2,erp,erp,3,7.5,0,3,2,true',
        "",
    ]


def test_pins_and_fixed_leads_are_not_written() -> None:
    crm = {"id": "crm", "skill": "crm", "min_level": 3, "hours_per_week": 8, "start_week": 0, "end_week": 1}
    pinned = deal(demands=[crm], pinned=[{"demand_id": "crm", "staff_id": "s-1"}], lead_staff_id="s-1")
    text = opportunities_csv([pinned])
    assert "s-1" not in text
    [read] = parse_opportunities_csv(text, 4)
    assert (read.pinned, read.lead_staff_id) == ([], None)


def test_a_one_week_capacity_list_keeps_its_trailing_separator() -> None:
    week_list, number = person("s-1", capacity_hours=[40]), person("s-2", capacity_hours=40)
    assert rows(staff_csv([week_list, number]))[1:3] == [
        "s-1,,,local_office,office-east,east,crm:3,80,40;,false,",
        "s-2,,,local_office,office-east,east,crm:3,80,40,false,",
    ]
    assert parse_staff_csv(staff_csv([week_list, number]), 1) == [week_list, number]


def test_special_characters_in_list_items_are_escaped_with_a_backslash() -> None:
    odd = person(skills={"c;d": 2, "a:b": 1, " pad ": 4, "back\\slash": 5})
    assert rows(staff_csv([odd]))[1].split(",")[6] == "c\\;d:2;a\\:b:1;\\ pad\\ :4;back\\\\slash:5"


# --------------------------------------------------------------------------- what a spreadsheet user may write


def test_a_hand_written_file_with_few_columns_spaces_excel_booleans_and_crlf_is_read() -> None:
    text = (
        "\ufeffID, Unit_Kind ,unit_id,unit_region,skills,hourly_rate,capacity_hours,can_lead\r\n"
        "s-1,hotline,h-1,east, crm:3 ; erp : 2 ;, 55 ,40 ; 40,TRUE\r\n"
        ",,,,,,,\r\n"
        "s-2,hotline,h-1,east,,60,32,\r\n"
    )
    first, second = parse_staff_csv(text.encode("utf-8"), 2)
    assert first == Staff.model_validate(
        {
            "id": "s-1",
            "unit": {"kind": "hotline", "id": "h-1", "region": "east"},
            "skills": {"crm": 3, "erp": 2},
            "hourly_rate": 55,
            "capacity_hours": [40, 40],
            "can_lead": True,
        }
    )
    assert (second.name, second.skills, second.can_lead, second.max_opportunities) == ("", {}, False, None)


def test_rows_of_one_deal_need_not_be_adjacent_and_their_figures_may_be_written_differently() -> None:
    header = ",".join(OPPORTUNITY_COLUMNS)
    text = "\n".join(
        [
            header,
            "o-1,Deal,,A,,east,,1000000,0.5,,,d1,crm,3,8,0,3,1,false",
            "o-2,Other,,C,,west,,50000,0.25,,,d1,erp,2,4,1,1,1,",
            "o-1,Deal,,A,,east,,1e6,0.50,,,d2,erp,4,8,2,3,1,yes",
        ]
    )
    first, other = parse_opportunities_csv(text, 4)
    assert [d.id for d in first.demands] == ["d1", "d2"]
    assert first.demands[1].remote_ok
    assert other.id == "o-2"


# --------------------------------------------------------------------------- errors


def errors_of(call: Any, content: str | bytes, weeks: int) -> list[tuple[int, str | None, str]]:
    with pytest.raises(CsvInvalid) as caught:
        call(content, weeks)
    return [(error.row, error.column, error.message) for error in caught.value.errors]


def places(errors: list[tuple[int, str | None, str]]) -> list[tuple[int, str | None]]:
    return [(row, column) for row, column, _ in errors]


BAD_STAFF = (
    "id,name,role,unit_kind,unit_id,unit_region,skills,hourly_rate,capacity_hours,can_lead,max_opportunities\n"
    "s-1,Ann,,local_office,o-1,east,crm:3;erp:9,abc,40;40,maybe,\n"
    "s-2,Bo,,office,o-1,east,crm,80,40;40;40,true,-1\n"
    "s-1,Cy,,hotline,h-1,east,,50,200,,2.5\n"
    "\n"
    "s-4,,,hotline,,east,crm:3,7;5,40;x,false,\n"
)


def test_every_error_of_a_staff_file_is_reported_at_once_by_row_and_column() -> None:
    errors = errors_of(parse_staff_csv, BAD_STAFF, 2)
    assert places(errors) == [
        (2, "skills"),
        (2, "hourly_rate"),
        (2, "can_lead"),
        (3, "unit_kind"),
        (3, "skills"),
        (3, "capacity_hours"),
        (3, "max_opportunities"),
        (4, "id"),
        (4, "capacity_hours"),
        (4, "max_opportunities"),
        (6, "unit_id"),  # the blank row 5 still counts: rows are numbered as a spreadsheet shows them
        (6, "hourly_rate"),
        (6, "capacity_hours"),
    ]
    messages = {(row, column): message for row, column, message in errors}
    assert messages[(2, "skills")] == "skill 'erp': Input should be less than or equal to 5"
    assert messages[(2, "hourly_rate")] == "'abc' is not a number"
    assert messages[(2, "can_lead")] == "'maybe' is not true or false"
    assert "'delivery_center', 'local_office' or 'hotline'" in messages[(3, "unit_kind")]
    assert messages[(3, "skills")] == "'crm' is not skill:level (e.g. crm:3)"
    assert messages[(3, "capacity_hours")] == "3 figures for a 2-week horizon: give one number, or one figure a week"
    assert messages[(4, "id")] == "duplicate staff id 's-1', first on row 2"
    assert messages[(4, "capacity_hours")] == "Input should be less than or equal to 168"
    assert messages[(6, "unit_id")] == "required: the cell is empty"
    assert messages[(6, "hourly_rate")] == "'7;5' is not a number"
    assert messages[(6, "capacity_hours")] == "week 1: 'x' is not a number"


BAD_OPPORTUNITIES = "\n".join(
    [
        ",".join(OPPORTUNITY_COLUMNS),
        "o-1,Deal,,A,,east,,1000,0.5,,s-1;;s-2,d1,crm,3,8,0,3,1,false",
        "o-1,Deal,,B,,east,,1000.0,0.50,,s-1;;s-2,d1,crm,6,8,2,9,1,",
        "o-1,Deal,,A,,east,,1000,0.5,,s-1;;s-2,,,,,,,,",
        'o-2,Other,,A,,east,,"1,000",1,,,,,,,,,,',
        "o-3,Third,,F,,east,,-5,1.5,,,d,erp,3,8,3,1,0,yes",
        ",Nameless,,A,,east,,10,0.5,,,d,erp,3,8,0,0,1,",
    ]
)


def test_every_error_of_an_opportunity_file_is_reported_at_once_by_row_and_column() -> None:
    errors = errors_of(parse_opportunities_csv, BAD_OPPORTUNITIES, 8)
    assert places(errors) == [
        (2, "excluded_staff"),
        (3, "grade"),
        (3, "excluded_staff"),
        (3, "demand_id"),
        (3, "min_level"),
        (3, "end_week"),
        (4, "excluded_staff"),
        (4, "demand_id"),
        (5, "deal_value"),
        (6, "grade"),
        (6, "deal_value"),
        (6, "win_probability"),
        (6, "end_week"),
        (6, "headcount"),
        (7, "id"),
    ]
    messages = {(row, column): message for row, column, message in errors}
    assert messages[(2, "excluded_staff")] == "item 2 of the list is empty"
    assert messages[(3, "grade")].startswith("'B' differs from 'A' on row 2, this deal's first row")
    assert messages[(3, "demand_id")] == "duplicate demand id 'd1' in 'o-1', first on row 2"
    assert messages[(3, "end_week")] == "week 9 is outside the horizon 0..7"
    assert messages[(4, "demand_id")].startswith("no demand on this row")
    assert messages[(5, "deal_value")] == "'1,000' is not a number (write decimals with a point: 7.5)"
    assert messages[(6, "end_week")] == "end_week 1 is before start_week 3"
    assert messages[(7, "id")] == "required: the cell is empty"


def test_unknown_and_missing_columns_are_named_and_the_rows_still_checked() -> None:
    text = "id,unit_kind,unit_id,unit_region,skills,hourly_rate,colour\ns-1,hotline,h,east,crm:3,-1,red\n"
    errors = errors_of(parse_staff_csv, text, 2)
    assert places(errors) == [(1, "capacity_hours"), (1, "colour"), (2, "hourly_rate")]
    assert errors[0][2] == "missing column: it is required"
    assert errors[1][2].startswith("unknown column; the columns are id, name, role,")


def test_a_file_that_is_not_utf8_or_not_comma_separated_is_refused_with_what_to_do() -> None:
    latin = "id,name\ns-1,Ann\ns-2,Jos\u00e9\n".encode("cp1252")
    assert errors_of(parse_staff_csv, latin, 2) == [
        (3, None, "the file is not UTF-8 (byte 0xe9 on line 3): save it as CSV UTF-8")
    ]
    semicolons = "id;unit_kind;unit_id\ns-1;hotline;h\n"
    [(row, column, message)] = errors_of(parse_staff_csv, semicolons, 2)
    assert (row, column) == (1, None)
    assert "separated by ';'" in message
    [(row, column, message)] = errors_of(parse_opportunities_csv, "", 2)
    assert (row, column) == (1, None)
    assert message.startswith("the first row must name the columns: id, name, customer,")
