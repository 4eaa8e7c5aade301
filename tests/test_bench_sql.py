"""The bench's raw baselines write rows with SQL of their own, beside the services: a column
the schema later makes required (NOT NULL, no database default) broke `make bench` once (the
simulate baseline's attempt INSERT) without any test noticing. Running the bench here would
cost minutes per database; this reads its statements instead and holds them to the schema.
"""

import ast
import re
from pathlib import Path

from django.apps import apps
from django.db.models import NOT_PROVIDED, AutoField, BigAutoField, SmallAutoField

from bench.ingest import INSERT_COLUMNS
from bench.reads import SEED_COLUMNS

BENCH = Path(__file__).resolve().parent.parent / "bench"
_INSERT = re.compile(r"INSERT INTO (\w+) \(([^)]*)\)")


def _required_columns(table: str) -> set[str]:
    """Columns an INSERT must name: NOT NULL, no database default, not generated."""
    [model] = [m for m in apps.get_models() if m._meta.db_table == table]
    return {
        field.column
        for field in model._meta.concrete_fields
        if not field.null
        and field.db_default is NOT_PROVIDED
        and not isinstance(field, AutoField | BigAutoField | SmallAutoField)
    }


def _literal_inserts() -> list[tuple[str, str, set[str]]]:
    """(file, table, columns) of every INSERT written as a plain string literal in bench/
    (adjacent literals are one constant to the parser; f-strings take their columns from the
    tuples checked below)."""
    found = []
    for path in sorted(BENCH.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for table, columns in _INSERT.findall(node.value):
                    found.append((path.name, table, {name.strip() for name in columns.split(",")}))
    return found


def test_the_bench_inserts_name_every_required_column():
    inserts = _literal_inserts()
    # The simulate baseline's three: an attempt, an event, a delivery.
    assert {table for _, table, _ in inserts} >= {
        "dialer_callattempt",
        "webhooks_event",
        "webhooks_delivery",
    }
    for name, table, columns in inserts:
        missing = _required_columns(table) - columns
        assert not missing, f"bench/{name}: INSERT INTO {table} leaves out {sorted(missing)}"


def test_the_bench_lead_loads_name_every_required_column():
    # The ingest baseline's COPY and the read, claim and dashboard seeds.
    required = _required_columns("leads_lead")
    assert not required - set(INSERT_COLUMNS), sorted(required - set(INSERT_COLUMNS))
    assert not required - set(SEED_COLUMNS), sorted(required - set(SEED_COLUMNS))
