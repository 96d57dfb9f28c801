"""The workspace's two CSV files, staff.csv and opportunities.csv: export, and an import that checks the whole
file before it gives anything back.

A director keeps the roster and the pipeline in a spreadsheet; the workspace stores v1 `Staff` and `Opportunity`
objects. Every value is written in a form that reads back to the same object (export then import is exact). The
import validates each row with the v1 models themselves, their error locations mapped back to a row (numbered as
a spreadsheet shows it: the header is row 1) and a column, checks the v1 rules across rows that a file can break
(ids once, capacity and weeks within the horizon), and raises every error of the file in one `CsvInvalid`.
Pure: text in, objects out; no database, no HTTP.

staff.csv has one row a person. opportunities.csv has one row a demand, the deal's own columns repeated on each
of its rows; a deal without demands has one row with the demand columns empty. A list cell separates its items
with `;` (skills as `skill:level`, capacity as one number a week, excluded_staff as ids); a backslash makes the
next character plain text, for the rare skill name or id holding `;`, `:`, a backslash, or spaces at its ends.
Workspace opportunities carry no `pinned` and no `lead_staff_id` (bookings do that), so neither is written.
docs/workspace-csv.md documents the columns for users.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from service.contract import (
    MAX_OPPORTUNITIES,
    MAX_STAFF,
    MAX_WEEKS,
    Demand,
    Opportunity,
    Staff,
    errors_from_pydantic,
)

STAFF_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "role",
    "unit_kind",
    "unit_id",
    "unit_region",
    "skills",
    "hourly_rate",
    "capacity_hours",
    "can_lead",
    "max_opportunities",
)
# An opportunity's own columns, repeated on each of its rows, then one demand's.
DEAL_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "customer",
    "grade",
    "stage",
    "region",
    "industry",
    "deal_value",
    "win_probability",
    "presales_budget",
    "excluded_staff",
)
DEMAND_COLUMNS: tuple[str, ...] = (
    "demand_id",
    "skill",
    "min_level",
    "hours_per_week",
    "start_week",
    "end_week",
    "headcount",
    "remote_ok",
)
OPPORTUNITY_COLUMNS: tuple[str, ...] = DEAL_COLUMNS + DEMAND_COLUMNS

# The columns a file must have: the fields without a default. A column left out gives every row its default.
STAFF_REQUIRED = frozenset({"id", "unit_kind", "unit_id", "unit_region", "skills", "hourly_rate", "capacity_hours"})
OPPORTUNITY_REQUIRED = frozenset(
    {"id", "grade", "region", "deal_value", "win_probability"}
    | {"demand_id", "skill", "min_level", "hours_per_week", "start_week", "end_week"}
)

# The largest cell a valid object needs: excluded_staff naming every person (5,000 ids of up to 200 characters,
# each possibly escaped). The csv module's limit (128 KiB) is process-wide; raising it harms no other reader.
csv.field_size_limit(max(csv.field_size_limit(), 4 * MAX_STAFF * 201))


@dataclass(frozen=True)
class CsvError:
    """One problem in a CSV file: the row as a spreadsheet numbers it (the header is row 1), the column's name
    (None when the problem is the whole row's or the file's), and what is wrong."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.column is None else f"row {self.row}, {self.column}"
        return f"{where}: {self.message}"


class CsvInvalid(ValueError):
    """A CSV file that cannot be imported; `errors` lists every problem found in it, by row and column."""

    def __init__(self, errors: Sequence[CsvError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


# --------------------------------------------------------------------------- export


def staff_csv(staff: Iterable[Staff], *, with_rates: bool = True) -> str:
    """staff.csv: one row a person, sorted by id. Without rates (a viewer's export) the hourly_rate column is left
    out altogether, so that no figure of it can leak."""
    columns = [column for column in STAFF_COLUMNS if with_rates or column != "hourly_rate"]
    rows = (_staff_cells(person) for person in sorted(staff, key=lambda person: person.id))
    return _write(columns, ([cells[column] for column in columns] for cells in rows))


def opportunities_csv(opportunities: Iterable[Opportunity], *, with_budgets: bool = True) -> str:
    """opportunities.csv: one row a demand, deals sorted by id and their demands in order; a deal without demands
    gets one row with the demand columns empty. `pinned` and `lead_staff_id` are not written (bookings do that).
    Without budgets (a viewer's export) the presales_budget column is left out altogether."""
    columns = [column for column in OPPORTUNITY_COLUMNS if with_budgets or column != "presales_budget"]
    rows: list[list[str]] = []
    for opportunity in sorted(opportunities, key=lambda opportunity: opportunity.id):
        deal = _deal_cells(opportunity)
        demands = [_demand_cells(demand) for demand in opportunity.demands] or [dict.fromkeys(DEMAND_COLUMNS, "")]
        rows += [[{**deal, **cells}[column] for column in columns] for cells in demands]
    return _write(columns, rows)


def _staff_cells(person: Staff) -> dict[str, str]:
    return {
        "id": person.id,
        "name": person.name,
        "role": person.role,
        "unit_kind": person.unit.kind,
        "unit_id": person.unit.id,
        "unit_region": person.unit.region,
        "skills": ";".join(f"{_escape(skill)}:{level}" for skill, level in person.skills.items()),
        "hourly_rate": _number_text(person.hourly_rate),
        "capacity_hours": _capacity_text(person.capacity_hours),
        "can_lead": _boolean_text(person.can_lead),
        "max_opportunities": "" if person.max_opportunities is None else _number_text(person.max_opportunities),
    }


def _deal_cells(opportunity: Opportunity) -> dict[str, str]:
    budget = opportunity.presales_budget
    return {
        "id": opportunity.id,
        "name": opportunity.name,
        "customer": opportunity.customer,
        "grade": opportunity.grade,
        "stage": opportunity.stage,
        "region": opportunity.region,
        "industry": opportunity.industry,
        "deal_value": _number_text(opportunity.deal_value),
        "win_probability": _number_text(opportunity.win_probability),
        "presales_budget": "" if budget is None else _number_text(budget),
        "excluded_staff": ";".join(_escape(staff_id) for staff_id in opportunity.excluded_staff),
    }


def _demand_cells(demand: Demand) -> dict[str, str]:
    return {
        "demand_id": demand.id,
        "skill": demand.skill,
        "min_level": _number_text(demand.min_level),
        "hours_per_week": _number_text(demand.hours_per_week),
        "start_week": _number_text(demand.start_week),
        "end_week": _number_text(demand.end_week),
        "headcount": _number_text(demand.headcount),
        "remote_ok": _boolean_text(demand.remote_ok),
    }


def _write(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    # The csv module's own line end, \r\n (RFC 4180, and what Excel writes): with \n alone it would leave a
    # cell holding \r unquoted, and the reader would cut the row there.
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def _number_text(value: float) -> str:
    """The shortest text that reads back to exactly `value`: whole numbers without `.0` (40, not 40.0), others
    as repr writes them (87.5, 0.1, 1e-07), which Python guarantees to round-trip."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _capacity_text(capacity: float | list[float]) -> str:
    """One number, or one a week joined by `;`. A one-week list keeps a trailing `;` (`40;`), or it would read
    back as the single number 40."""
    if not isinstance(capacity, list):
        return _number_text(capacity)
    text = ";".join(_number_text(hours) for hours in capacity)
    return text + ";" if len(capacity) == 1 else text


def _boolean_text(value: bool) -> str:
    return "true" if value else "false"


def _escape(item: str) -> str:
    """A list item as written: `\\` before each `\\`, `;` and `:`, and before spaces at either end (which the
    import would otherwise take as padding around the separator)."""
    leading = len(item) - len(item.lstrip())
    trailing = len(item) - len(item.rstrip())
    return "".join(
        "\\" + char if char in "\\;:" or (char.isspace() and (i < leading or i >= len(item) - trailing)) else char
        for i, char in enumerate(item)
    )


# --------------------------------------------------------------------------- import


def parse_staff_csv(content: str | bytes, horizon_weeks: int) -> list[Staff]:
    """The people of a staff.csv, in file order, or CsvInvalid with every error of the file: columns unknown or
    missing, cells of the wrong type, values the v1 model refuses, an id twice, a capacity list whose length is
    not `horizon_weeks`."""
    weeks = _weeks(horizon_weeks)
    table = _read_table(content, STAFF_COLUMNS, STAFF_REQUIRED)
    report = _Report(table, STAFF_COLUMNS)
    entries = [(row, _staff_data(report.typed(row, cells))) for row, cells in table.rows]
    if len(entries) > MAX_STAFF:
        report.add(entries[MAX_STAFF][0], "id", f"more than {MAX_STAFF} people, the contract's limit")
    staff = [report.validated(Staff, data, partial(_staff_place, row)) for row, data in entries]
    _staff_rules(entries, weeks, report)
    report.raise_if_any()
    return [person for person in staff if person is not None]


def parse_opportunities_csv(content: str | bytes, horizon_weeks: int) -> list[Opportunity]:
    """The opportunities of an opportunities.csv, in the order of their first rows, each with its demands in row
    order; or CsvInvalid with every error of the file: besides the staff file's kinds, a deal whose rows disagree
    on its own columns, a demand id twice in one deal, weeks outside the horizon of `horizon_weeks` weeks."""
    weeks = _weeks(horizon_weeks)
    table = _read_table(content, OPPORTUNITY_COLUMNS, OPPORTUNITY_REQUIRED)
    report = _Report(table, OPPORTUNITY_COLUMNS)
    deals = _group_deals(table, report)
    if len(deals) > MAX_OPPORTUNITIES:
        report.add(deals[MAX_OPPORTUNITIES].row, "id", f"more than {MAX_OPPORTUNITIES} deals, the contract's limit")
    opportunities = [report.validated(Opportunity, deal.data(), deal.place) for deal in deals]
    for deal in deals:
        _demand_rules(deal, weeks, report)
    report.raise_if_any()
    return [opportunity for opportunity in opportunities if opportunity is not None]


def _weeks(horizon_weeks: int) -> int:
    if not 1 <= horizon_weeks <= MAX_WEEKS:
        raise ValueError(f"horizon_weeks must be 1..{MAX_WEEKS}, not {horizon_weeks}")
    return horizon_weeks


# The rules across fields that a model cannot state (v1's request_rules: ids once, capacity and weeks within the
# horizon), checked here on each row's own cells: v1 checks them only on entries that are valid as a whole, and
# a bad rate on a row should not hide its capacity's length until the next upload.


def _staff_rules(entries: Sequence[tuple[int, dict[str, Any]]], weeks: int, report: _Report) -> None:
    """Each staff id on one row only; a capacity list with one figure a week of the horizon."""
    first_rows: dict[str, int] = {}
    for row, data in entries:
        staff_id = data.get("id")
        if isinstance(staff_id, str):
            if staff_id in first_rows:
                report.add(row, "id", f"duplicate staff id {staff_id!r}, first on row {first_rows[staff_id]}")
            first_rows.setdefault(staff_id, row)
        capacity = data.get("capacity_hours")
        if isinstance(capacity, list) and len(capacity) != weeks:
            report.add(
                row,
                "capacity_hours",
                f"{len(capacity)} figures for a {weeks}-week horizon: give one number, or one figure a week",
            )


def _demand_rules(deal: _Deal, weeks: int, report: _Report) -> None:
    """Each demand id once in its deal; start_week and end_week within the horizon, start before end."""
    first_rows: dict[str, int] = {}
    for row, demand in zip(deal.demand_rows, deal.demands, strict=True):
        demand_id = demand.get("id")
        if isinstance(demand_id, str):
            if demand_id in first_rows:
                message = (
                    f"duplicate demand id {demand_id!r} in {deal.cells['id']!r}, first on row {first_rows[demand_id]}"
                )
                report.add(row, "demand_id", message)
            first_rows.setdefault(demand_id, row)
        start, end = _week(demand.get("start_week")), _week(demand.get("end_week"))
        for column, week in (("start_week", start), ("end_week", end)):
            if week is not None and week >= weeks:
                report.add(row, column, f"week {week} is outside the horizon 0..{weeks - 1}")
        if start is not None and end is not None and start > end:
            report.add(row, "end_week", f"end_week {end} is before start_week {start}")


def _week(value: Any) -> int | None:
    """A week number as read, when it is a whole number (anything else is the model's to refuse)."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    return None


def _staff_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """A v1 staff object from one row's typed cells; an empty cell is left out, so the field takes its default."""
    data = {key: values[key] for key in STAFF_COLUMNS if key in values and not key.startswith("unit_")}
    data["unit"] = {key: values[f"unit_{key}"] for key in ("kind", "id", "region") if f"unit_{key}" in values}
    data.setdefault("skills", {})
    return data


_PATH = re.compile(r"(?P<field>[a-z_]+)(?:\[(?P<index>\d+)\])?(?:\.(?P<rest>.*))?", re.DOTALL)


def _path_parts(path: str) -> tuple[str, int | None, str]:
    """'demands[2].end_week' -> ('demands', 2, 'end_week'); 'skills.crm' -> ('skills', None, 'crm')."""
    match = _PATH.fullmatch(path)
    if match is None:
        return path, None, ""
    index = match["index"]
    return match["field"], None if index is None else int(index), match["rest"] or ""


def _staff_place(row: int, path: str) -> tuple[int, str, str]:
    """Where a v1 error at `path` of one person's object is in staff.csv: row, column, and what in the cell."""
    name, index, rest = _path_parts(path)
    if name == "unit":
        return row, f"unit_{rest}" if rest else "unit_kind", ""
    if name == "skills" and rest:
        return row, "skills", f"skill {rest!r}"
    if name == "capacity_hours" and index is not None:
        return row, "capacity_hours", f"week {index}"
    return row, name, ""


@dataclass
class _Deal:
    """One opportunity as read: its first row and that row's cells, and each demand with the row it is on."""

    row: int
    cells: dict[str, str]
    fields: dict[str, Any]
    demands: list[dict[str, Any]] = field(default_factory=list)
    demand_rows: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        return {**self.fields, "demands": self.demands}

    def place(self, path: str) -> tuple[int, str, str]:
        """Where a v1 error at `path` of this deal's object is: a demand's row, or the deal's first row."""
        name, index, rest = _path_parts(path)
        if name == "demands" and index is not None and index < len(self.demand_rows):
            return self.demand_rows[index], "demand_id" if rest in ("", "id") else rest, ""
        if name == "demands":
            return self.row, "demand_id", ""
        if name == "excluded_staff" and index is not None:
            return self.row, "excluded_staff", f"item {index + 1}"
        return self.row, name, ""


def _group_deals(table: _Table, report: _Report) -> list[_Deal]:
    """The file's rows gathered by opportunity id (rows of one deal need not be adjacent), every row's own
    columns checked against the deal's first row."""
    deals: dict[str, _Deal] = {}
    for row, cells in table.rows:
        values = report.typed(row, cells)
        deal_id = cells.get("id", "")
        if not deal_id:
            report.add(row, "id", "required: the cell is empty")
            continue
        fields = {column: values[column] for column in DEAL_COLUMNS if column in values}
        deal = deals.setdefault(deal_id, _Deal(row, cells, fields))
        if deal.row != row:
            _check_repeated(deal, row, cells, fields, report)
        deal.rows.append(row)
        if any(cells.get(column) for column in DEMAND_COLUMNS):
            deal.demands.append(_demand_data(values))
            deal.demand_rows.append(row)
    for deal in deals.values():
        for row in sorted(set(deal.rows) - set(deal.demand_rows)) if len(deal.rows) > 1 else []:
            report.add(
                row,
                "demand_id",
                "no demand on this row: only a deal without demands has a row with the "
                "demand columns empty, and then it is the deal's only row",
            )
    return list(deals.values())


def _check_repeated(
    deal: _Deal, row: int, cells: Mapping[str, str], fields: Mapping[str, Any], report: _Report
) -> None:
    """Each row of a deal repeats the deal's own columns: a value that differs from the first row's is an error
    (compared as values, so 0.5 and 0.50 agree)."""
    for column in DEAL_COLUMNS:
        if column not in cells or report.failed(row, column) or report.failed(deal.row, column):
            continue
        if fields.get(column) != deal.fields.get(column):
            report.add(
                row,
                column,
                f"{cells[column]!r} differs from {deal.cells[column]!r} on row {deal.row}, this deal's first row: "
                "every row of a deal repeats the deal's columns",
            )


def _demand_data(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        ("id" if column == "demand_id" else column): values[column] for column in DEMAND_COLUMNS if column in values
    }


# --------------------------------------------------------------------------- the table and its cells


@dataclass(frozen=True)
class _Table:
    """A CSV file's rows as column -> cell text, with the spreadsheet number of each row (blank rows skipped),
    the header's errors, and the required columns it lacks."""

    rows: list[tuple[int, dict[str, str]]]
    errors: list[CsvError]
    missing: frozenset[str]


def _read_table(content: str | bytes, columns: Sequence[str], required: frozenset[str]) -> _Table:
    reader = csv.reader(io.StringIO(_decode(content), newline=""))
    try:
        records = list(reader)
    except csv.Error as error:
        raise CsvInvalid([CsvError(reader.line_num, None, f"not a readable CSV file: {error}")]) from None
    if not records or not any(records[0]):
        raise CsvInvalid([CsvError(1, None, f"the first row must name the columns: {', '.join(columns)}")])
    header = [name.strip().lower() for name in records[0]]
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        message = "the columns are separated by ';' or tabs, not commas: save the file as CSV UTF-8 (comma delimited)"
        raise CsvInvalid([CsvError(1, None, message)])
    errors: list[CsvError] = []
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if not name:
            if any(index < len(record) and record[index] for record in records[1:]):
                errors.append(CsvError(1, None, f"column {index + 1} has values but no name"))
        elif name not in columns:
            errors.append(CsvError(1, name, f"unknown column; the columns are {', '.join(columns)}"))
        elif name in positions:
            errors.append(CsvError(1, name, "the column appears twice"))
        else:
            positions[name] = index
    missing = required - positions.keys()
    errors += [CsvError(1, name, "missing column: it is required") for name in columns if name in missing]
    rows: list[tuple[int, dict[str, str]]] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(record):
            continue
        if any(record[len(header) :]):
            errors.append(CsvError(number, None, f"{len(record)} cells, but the header names {len(header)} columns"))
        rows.append((number, {name: record[i] if i < len(record) else "" for name, i in positions.items()}))
    return _Table(rows, errors, frozenset(missing))


def _decode(content: str | bytes) -> str:
    """The file's text without a UTF-8 byte order mark (Excel's "CSV UTF-8" writes one); bytes that are not
    UTF-8 are refused, naming the first bad byte and its line."""
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        message = f"the file is not UTF-8 (byte 0x{content[error.start]:02x} on line {line}): save it as CSV UTF-8"
        raise CsvInvalid([CsvError(line, None, message)]) from None


class _CellError(ValueError):
    """A cell whose text is not of its column's type."""


_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _text_cell(text: str) -> str:
    return text


def _number_cell(text: str) -> int | float:
    value = text.strip()
    if not value:
        raise _CellError("empty")
    if _INTEGER.fullmatch(value):
        return int(value)
    if _DECIMAL.fullmatch(value):
        return float(value)
    hint = " (write decimals with a point: 7.5)" if "," in value else ""
    raise _CellError(f"{text!r} is not a number{hint}")


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _boolean_cell(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise _CellError(f"{text!r} is not true or false")


def _split(text: str, separator: str) -> list[str]:
    """Cut `text` at each `separator` that no backslash escapes; the pieces keep their escapes."""
    pieces: list[str] = []
    start = i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == separator:
            pieces.append(text[start:i])
            start = i + 1
        i += 1
    return [*pieces, text[start:]]


def _unescape(piece: str) -> str:
    """A list item's text: spaces around it dropped unless escaped, each escaping backslash removed."""
    chars: list[tuple[str, bool]] = []
    i = 0
    while i < len(piece):
        escaped = piece[i] == "\\" and i + 1 < len(piece)
        chars.append((piece[i + 1], True) if escaped else (piece[i], False))
        i += 2 if escaped else 1
    while chars and not chars[0][1] and chars[0][0].isspace():
        chars.pop(0)
    while chars and not chars[-1][1] and chars[-1][0].isspace():
        chars.pop()
    return "".join(char for char, _ in chars)


def _list_items(text: str) -> list[str]:
    """The items of a `;` list (escapes kept); one trailing `;` is allowed, an empty item elsewhere is not."""
    pieces = _split(text, ";")
    if len(pieces) > 1 and not pieces[-1].strip():
        pieces.pop()
    for number, piece in enumerate(pieces, start=1):
        if not piece.strip():
            raise _CellError(f"item {number} of the list is empty")
    return pieces


def _skills_cell(text: str) -> dict[str, Any]:
    skills: dict[str, Any] = {}
    for piece in _list_items(text):
        parts = _split(piece, ":")
        name = _unescape(parts[0])
        if len(parts) != 2 or not name:
            raise _CellError(f"{piece.strip()!r} is not skill:level (e.g. crm:3)")
        if name in skills:
            raise _CellError(f"skill {name!r} appears twice")
        try:
            skills[name] = _number_cell(parts[1])
        except _CellError as error:
            raise _CellError(f"skill {name!r}: {error}") from None
    return skills


def _capacity_cell(text: str) -> float | list[float]:
    """One number for every week, or one a week separated by `;` (a one-week list as `40;`)."""
    pieces = _split(text, ";")
    if len(pieces) == 1:
        return _number_cell(text)
    hours: list[float] = []
    for week, piece in enumerate(pieces[:-1] if not pieces[-1].strip() else pieces):
        try:
            hours.append(_number_cell(piece))
        except _CellError as error:
            raise _CellError(f"week {week}: {error}") from None
    return hours


def _ids_cell(text: str) -> list[str]:
    return [_unescape(piece) for piece in _list_items(text)]


_NUMBER_COLUMNS = (
    *("hourly_rate", "max_opportunities", "deal_value", "win_probability", "presales_budget"),
    *("min_level", "hours_per_week", "start_week", "end_week", "headcount"),
)
_READERS: dict[str, Callable[[str], Any]] = {
    **dict.fromkeys(STAFF_COLUMNS + OPPORTUNITY_COLUMNS, _text_cell),
    **dict.fromkeys(_NUMBER_COLUMNS, _number_cell),
    **dict.fromkeys(("can_lead", "remote_ok"), _boolean_cell),
    "skills": _skills_cell,
    "capacity_hours": _capacity_cell,
    "excluded_staff": _ids_cell,
}

M = TypeVar("M", bound=BaseModel)


class _Report:
    """The errors found in one file, each once; none in a column the header lacks (its own error says so),
    and none besides the first in a cell whose text could not be read."""

    def __init__(self, table: _Table, columns: Sequence[str]) -> None:
        self._errors = list(table.errors)
        self._seen = set(self._errors)
        self._missing = table.missing
        self._order = {name: index for index, name in enumerate(columns)}
        self._unreadable: set[tuple[int, str]] = set()

    def add(self, row: int, column: str, message: str, detail: str = "") -> None:
        if column in self._missing or (row, column) in self._unreadable:
            return
        error = CsvError(row, column, f"{detail}: {message}" if detail else message)
        if error not in self._seen:
            self._seen.add(error)
            self._errors.append(error)

    def failed(self, row: int, column: str) -> bool:
        return (row, column) in self._unreadable

    def typed(self, row: int, cells: Mapping[str, str]) -> dict[str, Any]:
        """One row's cells as JSON values: an empty cell is left out, an unreadable one reported and left out."""
        values: dict[str, Any] = {}
        for column, text in cells.items():
            reader = _READERS[column]
            if not text or (reader is not _text_cell and text.isspace()):
                continue  # left out: the field takes its default
            try:
                values[column] = reader(text)
            except _CellError as error:
                self.add(row, column, str(error))
                self._unreadable.add((row, column))
        return values

    def validated(self, model: type[M], data: dict[str, Any], place: Callable[[str], tuple[int, str, str]]) -> M | None:
        """`data` as a v1 `model`, or None with each of the model's errors reported where `place` puts it."""
        try:
            return model.model_validate(data)
        except ValidationError as error:
            for problem in errors_from_pydantic(error):
                row, column, detail = place(problem.path)
                message = "required: the cell is empty" if problem.type == "missing" else problem.message
                self.add(row, column, message, detail)
            return None

    def raise_if_any(self) -> None:
        if self._errors:
            last = len(self._order)
            ordered = sorted(
                self._errors, key=lambda e: (e.row, -1 if e.column is None else self._order.get(e.column, last))
            )
            raise CsvInvalid(ordered)
