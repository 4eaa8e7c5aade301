"""CSV export (leads.exports): the API's GET items, cell for cell, streamed in chunks."""

import contextlib
import csv
import inspect
import io
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import connection

from leadline.core import recordings
from leadline.leads import exports, services
from leadline.leads.models import Lead
from leadline.leads.results import FIXED_KEYS
from leadline.leads.selectors import ResultsQuery
from leadline.leads.validation import CleanLead

# Committed data: on PostgreSQL the export reads on a connection of its own, which does not
# see a test transaction's rows.
pytestmark = pytest.mark.django_db(transaction=True)
BASE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def api_items(api, campaign, **params):
    body = api.get(
        f"/api/v4/leads/responses/{campaign.public_id}/", {"page_size": 1000, **params}
    ).json()
    assert body["next"] is None
    return body["results"]


def export(campaign, query=None, *, as_json=False):
    query = query or ResultsQuery()
    layout = exports.export_layout(campaign=campaign, query=query, as_json=as_json)
    text = "".join(exports.results_csv(campaign=campaign, query=query, layout=layout))
    return list(csv.DictReader(io.StringIO(text, newline=""))), layout


def process(campaign, lead_id, when, *, recording=None):
    Lead.objects.filter(campaign=campaign, lead_id=lead_id).update(
        processed_at=when,
        latest_called_at=when,
        latest_recording=recording,
        lead_outcome="Connected : Objective Met",
        lead_responses={"interested": "yes", "score": 4, "topics": ["motor", "health"]},
        status=Lead.Status.PROCESSED,
    )


def expected_row(item, columns):
    return {column: exports.column_cell(column, item.get(column)) for column in columns}


def comparable(row, item):
    """`row` with its JSON cells parsed where the item's value is JSON (not a string): on
    PostgreSQL those are jsonb's text (`{"a": 1}`), the same JSON value as the API's."""
    return {
        column: cell if isinstance(item.get(column), str | None) else orjson.loads(cell)
        for column, cell in row.items()
    }


def assert_row_is_item(row, item, columns):
    assert comparable(row, item) == comparable(expected_row(item, columns), item)


@pytest.fixture
def leads(api, campaign, make_leads):
    make_leads(2, prefix="plain")
    make_leads(2, prefix="rich", city="Pune", premium=12000, vip=True, tags=["a", "b"])
    response = api.post(
        f"/api/v4/leads/create/{campaign.public_id}/",
        [
            {
                "lead_id": "odd",
                "phone_number": "9876512345",
                "contact_name": 'Zoë, "Z" Ali',
                "notes": "line one\nline two",
                "campaign_id": "not-a-column",  # a custom key named like a fixed key
                "city": None,
            }
        ],
    )
    assert response.status_code == 201
    process(campaign, "rich-1", BASE, recording="0f1e2d3c-aaaa-bbbb-cccc-000000000001")
    process(campaign, "plain-0", BASE + timedelta(hours=1))


def test_export_equals_the_api_items_cell_for_cell(api, campaign, leads):
    rows, layout = export(campaign)
    items = api_items(api, campaign)
    assert layout.header == [*FIXED_KEYS, "city", "notes", "premium", "tags", "vip"]
    assert len(rows) == len(items) == 5
    for row, item in zip(rows, items, strict=True):
        assert_row_is_item(row, item, layout.header)
    by_id = {row["lead_id"]: row for row in rows}
    # Processed and unprocessed leads, value by value.
    rich = by_id["rich-1"]
    assert rich["phone_number"] == "+919876500001"
    assert rich["processed_at"] == "2026-01-01T12:00:00+00:00"
    assert rich["lead_outcome"] == "Connected : Objective Met"
    assert orjson.loads(rich["lead_responses"]) == {
        "interested": "yes",
        "score": 4,
        "topics": ["motor", "health"],
    }
    assert (
        rich["latest_recording_url"].startswith("http")
        and "/recordings/" in rich["latest_recording_url"]
    )
    assert (rich["premium"], rich["vip"]) == ("12000", "true")
    assert orjson.loads(rich["tags"]) == ["a", "b"]
    queued = by_id["plain-1"]
    assert queued["processed_at"] == queued["lead_outcome"] == queued["city"] == ""
    assert queued["lead_responses"] == "{}" and queued["latest_recording_url"] == ""
    odd = by_id["odd"]
    assert odd["contact_name"] == 'Zoë, "Z" Ali' and odd["notes"] == "line one\nline two"
    assert odd["campaign_id"] == campaign.public_id  # the fixed key wins, as in the API


def test_processed_window_equals_the_api_window(api, campaign, leads):
    after = int(BASE.timestamp())
    query = ResultsQuery(processed_after=BASE, processed_before=BASE + timedelta(minutes=90))
    rows, layout = export(campaign, query)
    items = api_items(api, campaign, processed_after=str(after), processed_before=str(after + 5400))
    assert [row["lead_id"] for row in rows] == [item["lead_id"] for item in items]
    assert [row["lead_id"] for row in rows] == ["rich-1", "plain-0"]  # by processing time
    for row, item in zip(rows, items, strict=True):
        assert_row_is_item(row, item, layout.header)
    # Only the window's leads' custom keys become columns.
    assert layout.custom_keys == ("city", "premium", "tags", "vip")


def test_custom_fields_as_one_json_column(api, campaign, leads, settings):
    rows, layout = export(campaign, as_json=True)
    assert layout.header == [*FIXED_KEYS, "custom_fields"]
    items = api_items(api, campaign)
    for row, item in zip(rows, items, strict=True):
        custom = {k: v for k, v in item.items() if k not in FIXED_KEYS}
        assert orjson.loads(row["custom_fields"]) == custom
    # Too many distinct keys for columns: the JSON column is chosen by itself.
    settings.LEADLINE_EXPORT_MAX_CUSTOM_COLUMNS = 2
    assert export(campaign)[1].custom_as_json


def test_erased_leads_and_other_campaigns_are_not_exported(
    api, campaign, other_campaign, leads, other_api_leads
):
    api.post(f"/api/v4/leads/delete/{campaign.public_id}/", {"lead_id": "plain-1"})
    rows, _ = export(campaign)
    assert [row["lead_id"] for row in rows] == ["plain-0", "rich-0", "rich-1", "odd"]
    assert "secret" not in exports.custom_keys(campaign=campaign, query=ResultsQuery())


@pytest.fixture
def other_api_leads(other_campaign):
    services.lead_create_batch(
        campaign=other_campaign,
        leads=[CleanLead("theirs", "+919876500099", "Them", {"secret": 1}, '{"secret": 1}')],
    )


def test_an_empty_campaign_exports_its_header(campaign):
    rows, layout = export(campaign)
    assert rows == [] and layout.header == list(FIXED_KEYS)


def bulk(campaign, count, start=0):
    leads = [
        CleanLead(
            f"bulk-{i}", f"+9198765{i:05d}", f"Person {i}", {"city": "Pune"}, '{"city":"Pune"}'
        )
        for i in range(start, start + count)
    ]
    services.lead_create_batch(campaign=campaign, leads=leads)


def test_the_python_export_streams_from_one_cursor(campaign, settings, django_assert_num_queries):
    bulk(campaign, 2_500)
    settings.LEADLINE_EXPORT_CHUNK_ROWS = 100
    query = ResultsQuery()
    layout = exports.export_layout(campaign=campaign, query=query)
    pieces = exports.results_csv(campaign=campaign, query=query, layout=layout, in_sql=False)
    assert inspect.isgenerator(pieces)
    with django_assert_num_queries(0):
        header = next(pieces)  # nothing read yet: the rows come as the response is sent
    assert header.startswith("phone_number,lead_id,")
    with django_assert_num_queries(1):  # one query, fetched chunk by chunk, not pages
        rest = list(pieces)
    assert len(rest) == 5  # batches of 500 rows
    assert sum(piece.count("\n") for piece in rest) == 2_500 and "\r" not in "".join(rest)


def export_peak(campaign) -> tuple[int, int]:
    """(peak traced memory, bytes of CSV) of one whole export, consumed piece by piece."""
    query = ResultsQuery()
    layout = exports.export_layout(campaign=campaign, query=query)
    total = 0
    tracemalloc.start()
    try:
        for piece in exports.results_csv(campaign=campaign, query=query, layout=layout):
            total += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, total


def test_memory_stays_flat_however_many_rows(campaign, settings):
    settings.LEADLINE_EXPORT_CHUNK_ROWS = 200
    bulk(campaign, 5_000)
    small_peak, small_total = export_peak(campaign)
    bulk(campaign, 15_000, start=5_000)
    peak, total = export_peak(campaign)
    assert total > 3.9 * small_total
    # Four times the rows, about the same memory: a chunk of rows and a batch of text.
    assert peak < 1.5 * small_peak, (small_peak, peak)
    assert peak < total / 3, (peak, total)


FORMULAS = {
    "lead_id": "@SUM(1+1)",
    "contact_name": '=HYPERLINK("http://evil.example","Click")',
    "city": "+cmd|' /C calc'!A0",
    "-risky key": "-2+3",
    "tabbed": "\t=1+1",
    "carriage": "\r=1+1",
    "minus_text": "-5",
    "minus_number": -5,
    "plain": "Pune - West",
}


@pytest.fixture
def formula_lead(api, campaign):
    lead = {"phone_number": "9876512345", **FORMULAS}
    response = api.post(f"/api/v4/leads/create/{campaign.public_id}/", [lead])
    assert response.status_code == 201, response.content


def test_formula_cells_are_neutralised_in_the_export(api, campaign, formula_lead):
    text = "".join(
        exports.results_csv(
            campaign=campaign,
            query=ResultsQuery(),
            layout=exports.export_layout(campaign=campaign, query=ResultsQuery()),
        )
    )
    records = list(csv.reader(io.StringIO(text, newline="")))
    header, row = records[0], dict(zip(records[0], records[1], strict=True))
    # A custom field's name is the client's text too.
    assert "'-risky key" in header and "-risky key" not in header
    assert row["lead_id"] == "'@SUM(1+1)"
    assert row["contact_name"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["city"] == "'+cmd|' /C calc'!A0"
    assert row["'-risky key"] == "'-2+3"
    assert row["tabbed"] == "'\t=1+1" and row["carriage"] == "'\r=1+1"
    # A string is neutralised, a JSON number is data: -5 stays -5.
    assert row["minus_text"] == "'-5" and row["minus_number"] == "-5"
    assert row["plain"] == "Pune - West"
    # Our own E.164 phone number is no formula and stays as the API gives it.
    assert row["phone_number"] == "+919876512345"
    # No other cell starts like a formula (the phone number and the JSON number are data).
    for column, cell in row.items():
        if column not in ("phone_number", "minus_number"):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), column


def test_formula_values_stay_raw_in_the_api_and_the_json_column(api, campaign, formula_lead):
    (item,) = api_items(api, campaign)
    for key, value in FORMULAS.items():
        assert item[key] == value, key
    # One JSON column: its text starts with "{", and holds the values as stored.
    rows, _ = export(campaign, as_json=True)
    assert orjson.loads(rows[0]["custom_fields"])["city"] == FORMULAS["city"]


# --- PostgreSQL: the SQL path writes what the Python path writes ----------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's"
)

VARIED = [
    ("v-formula", "=1+1", {"note": "-2", "at": "@x", "plain": "Pune, West"}),
    (
        "v-quotes",
        'Zoë "Z", Ali',
        # `\.` alone is COPY's end-of-data marker: the csv module leaves it unquoted.
        {"note": 'say "hi"\nline two\r\nthree\rcr', "uni": "गोल्ड ✓", "dot": "\\."},
    ),
    ("+v-plus", "\tTabbed", {"nested": {"b": [1, 2.5, {"c": None}], "a": "x"}, "n": 1.10}),
    ("v-numbers", "Person", {"n": -5, "big": 12000, "f": 0.1, "t": True, "fl": False}),
    ("v-nulls", "", {"note": None, "empty": "", "list": [], "obj": {}}),
    ("v-fixed", "Fixed", {"campaign_id": "x", "lead_id": "y", "plain": "z"}),
    ("v-none", "None", {}),
    ("v-erased", "Gone", {"note": "erased"}),
]


@pytest.fixture
def varied(api, campaign):
    leads = [
        CleanLead(lead_id, f"+91987650{i:04d}", name, custom, orjson.dumps(custom).decode())
        for i, (lead_id, name, custom) in enumerate(VARIED)
    ]
    # A float as the client wrote it (1.10): jsonb keeps its text, Python reads 1.1.
    leads[2] = CleanLead(
        leads[2].lead_id,
        leads[2].phone_number,
        leads[2].contact_name,
        leads[2].custom_fields,
        leads[2].custom_json.replace('"n":1.1', '"n":1.10'),
    )
    services.lead_create_batch(campaign=campaign, leads=leads)
    process(campaign, "v-formula", BASE, recording="0f1e2d3c-aaaa-bbbb-cccc-000000000001")
    process(campaign, "v-quotes", BASE + timedelta(minutes=30, microseconds=999_999))
    process(campaign, "v-numbers", BASE + timedelta(hours=3))
    # A recording without a call time: its expiry counts from the export's `now`.
    Lead.objects.filter(campaign=campaign, lead_id="+v-plus").update(
        latest_recording="0f1e2d3c-aaaa-bbbb-cccc-000000000002",
        lead_responses={"score": 1.5, "why": "=x"},
    )
    response = api.post(f"/api/v4/leads/delete/{campaign.public_id}/", {"lead_id": "v-erased"})
    assert response.status_code == 202, response.content


def both_paths(campaign, query, *, as_json):
    layout = exports.export_layout(campaign=campaign, query=query, as_json=as_json)
    now = time.time()
    texts = [
        "".join(
            exports.results_csv(
                campaign=campaign, query=query, layout=layout, in_sql=in_sql, now=now
            )
        )
        for in_sql in (True, False)
    ]
    copy_rows, python_rows = (list(csv.reader(io.StringIO(t, newline=""))) for t in texts)
    return layout, copy_rows, python_rows


def assert_same_cells(layout, items, copy_rows, python_rows):
    """Cell for cell equal; a JSON cell (a value that is not a string) as the same JSON value."""
    assert copy_rows[0] == python_rows[0]
    assert len(copy_rows) == len(python_rows) == len(items) + 1
    json_cells = 0
    for copy_row, python_row, item in zip(copy_rows[1:], python_rows[1:], items, strict=True):
        for column, copied, built in zip(layout.header, copy_row, python_row, strict=True):
            value = item.get(column)
            if layout.custom_as_json and column == exports.CUSTOM_JSON_COLUMN:
                value = {k: v for k, v in item.items() if k not in FIXED_KEYS}
            if isinstance(value, str | None):
                assert copied == built, (item["lead_id"], column)
            else:
                json_cells += 1
                assert orjson.loads(copied) == orjson.loads(built) == value, (column, copied)
    assert json_cells


@postgres_only
@pytest.mark.parametrize("as_json", [False, True])
def test_the_sql_path_writes_the_python_paths_cells(api, campaign, varied, as_json):
    layout, copy_rows, python_rows = both_paths(campaign, ResultsQuery(), as_json=as_json)
    items = api_items(api, campaign)
    assert [item["lead_id"] for item in items] == [v[0] for v in VARIED[:-1]]  # not the erased
    assert_same_cells(layout, items, copy_rows, python_rows)
    if not as_json:
        assert "uni" in layout.custom_keys and "campaign_id" not in layout.custom_keys
    rows = {row[1]: dict(zip(layout.header, row, strict=True)) for row in copy_rows[1:]}
    assert rows["'+v-plus"]["contact_name"] == "'\tTabbed"
    assert rows["v-quotes"]["latest_called_at"] == "2026-01-01T12:30:00+00:00"  # truncated
    assert rows["v-nulls"]["contact_name"] == ""
    # The URLs signed in SQL pass the real verification, with and without a call time.
    for lead_id in ("v-formula", "'+v-plus"):
        url = rows[lead_id]["latest_recording_url"]
        path, _, query_string = url.partition("?")
        fields = dict(part.split("=", 1) for part in query_string.split("&"))
        reference = path.rstrip("/").rsplit("/", 1)[-1]
        assert recordings.recording_url_valid(reference, fields["expires"], fields["signature"])
        assert not recordings.recording_url_valid(
            reference, fields["expires"], "x" + fields["signature"][1:]
        )


@postgres_only
def test_the_sql_path_selects_the_processed_window_in_order(api, campaign, varied):
    after = int(BASE.timestamp())
    query = ResultsQuery(processed_after=BASE, processed_before=BASE + timedelta(hours=4))
    layout, copy_rows, python_rows = both_paths(campaign, query, as_json=False)
    items = api_items(
        api, campaign, processed_after=str(after), processed_before=str(after + 14400)
    )
    assert [row[1] for row in copy_rows[1:]] == ["v-formula", "v-quotes", "v-numbers"]
    assert_same_cells(layout, items, copy_rows, python_rows)


@postgres_only
def test_the_sql_statement_carries_no_secret(campaign, varied, settings):
    layout = exports.export_layout(campaign=campaign, query=ResultsQuery())
    sql, params = exports._rows_sql(campaign, ResultsQuery(), layout, time.time())
    assert settings.SECRET_KEY not in sql and settings.SECRET_KEY not in map(str, params)
    # Nor the signing keys: the statement reads them from a session setting, which a quick
    # statement of its own sets (a server logging slow statements logs this one's text).
    for key in recordings._padded_keys():
        assert key.hex() not in sql and key.hex() not in map(str, params)
    # client text (custom keys) travels as parameters only
    assert "uni" not in sql and "uni" in params


@postgres_only
def test_the_sql_export_is_one_copy_streamed_on_its_own_connection(campaign, settings, monkeypatch):
    bulk(campaign, 2_500)
    settings.LEADLINE_EXPORT_CHUNK_ROWS = 1_000
    query = ResultsQuery()
    layout = exports.export_layout(campaign=campaign, query=query)
    django_statements, own_statements, opened = [], [], []

    def record(execute, sql, params, many, context):
        django_statements.append(sql)
        return execute(sql, params, many, context)

    own_connection = exports.pg_own_connection

    @contextlib.contextmanager
    def recorded_connection():
        with own_connection() as conn:
            opened.append(conn)

            class Recording(conn.cursor_factory):
                def execute(self, query, params=None, **kwargs):
                    own_statements.append(str(query))
                    return super().execute(query, params, **kwargs)

                def copy(self, statement, params=None, **kwargs):
                    own_statements.append(str(statement))
                    return super().copy(statement, params, **kwargs)

            conn.cursor_factory = Recording
            yield conn

    monkeypatch.setattr(exports, "pg_own_connection", recorded_connection)
    with connection.execute_wrapper(record):
        pieces = exports.results_csv(campaign=campaign, query=query, layout=layout)
        header = next(pieces)
        assert opened == []  # nothing read yet: the rows come as the response is sent
        rest = list(pieces)
    assert header.startswith("phone_number,lead_id,") and header.endswith("\n")
    # Django's connection stays free (the run is renewed on it while the rows stream); the
    # rows are one COPY on the export's own connection, closed when they end. The keys are
    # set before it and wiped after it, by statements of their own.
    assert django_statements == []
    assert len(own_statements) == 3 and own_statements[1].startswith("COPY (SELECT ")
    assert all("set_config" in own_statements[i] for i in (0, 2))
    assert len(opened) == 1 and opened[0].closed
    assert len(rest) == 3  # handed on 1,000 lines at a time as COPY sends them
    assert sum(piece.count("\n") for piece in rest) == 2_500 and "\r" not in "".join(rest)


@postgres_only
def test_the_sql_export_closes_its_connection_when_dropped_early(campaign, settings, monkeypatch):
    bulk(campaign, 2_500)
    settings.LEADLINE_EXPORT_CHUNK_ROWS = 100
    opened = []
    own_connection = exports.pg_own_connection

    @contextlib.contextmanager
    def remembered_connection():
        with own_connection() as conn:
            opened.append(conn)
            yield conn

    monkeypatch.setattr(exports, "pg_own_connection", remembered_connection)
    query = ResultsQuery()
    layout = exports.export_layout(campaign=campaign, query=query)
    pieces = exports.results_csv(campaign=campaign, query=query, layout=layout)
    next(pieces), next(pieces)  # the header, the first rows: the COPY is running
    pieces.close()  # the client went away
    assert len(opened) == 1 and opened[0].closed
