"""CSV imports of leads from the dashboard: upload, background validation, decision, import.

The file goes through the API's own path: each row becomes the dict a JSON client would send,
`leads.validation.clean_new_lead` checks it, and `leads.services.lead_create_batch` inserts
it (so the campaign's `lead_count`, the queue and the per-campaign insert order stay exactly as
for API leads). Only the CSV-specific parts live in this package:
- `csvfile`: decoding, the header mapping and row cleaning below, the problem report as CSV;
- `services`: the upload, the user's decision (import the valid rows, or cancel), expiry;
- `selectors`: a business's imports and their problem reports;
- `jobs`: what the worker runs (the lease, validation, the import).

CSV mapping (also on the upload page):
- UTF-8 (a BOM is fine); anything else is refused with a clear error, as are UTF-16 files.
- Comma separated, RFC 4180 quoting (what spreadsheets write). The first row is the header.
- Header names are trimmed; `lead_id`, `phone_number` and `contact_name` are matched without
  case, with spaces or hyphens as underscores ("Phone Number"). Every other named column is a
  custom field under its trimmed name, as written. Two columns with one name are refused.
- Every cell is trimmed. An empty cell is an absent value: a missing lead_id, phone number or
  name is a "required" problem, and an empty custom cell stores no key (CSV cannot tell ""
  from absent, and a file exported with the union of all custom columns has blanks in most).
- Values are strings: lead_id as written ("00123" stays "00123"), custom fields as text.
- Blank rows are skipped. Row numbers are spreadsheet rows: the header is row 1.
- A value under a column without a name, or more values than header columns, is a row problem.
- Duplicate lead_ids: the first row with an id is kept, later ones are problems; ids already
  in the campaign are problems too (and `lead_create_batch`'s constraint check catches any
  created between validation and import).

Lifecycle (status): validating -> importing -> done when every row is valid (one transaction,
all or nothing); validating -> needs_decision when some rows have problems, then the user
imports the valid rows (-> importing -> done) or cancels (-> cancelled); validating ->
failed for a file-level problem (encoding, CSV syntax, no rows, too many rows). An undecided
import expires after LEADLINE_IMPORT_RETENTION_SECONDS (-> cancelled). A lead created through
the API with one of the file's ids while the import waits sends it back to needs_decision.

Privacy: the stored file is deleted as soon as the import ends; the problem rows hold the
row number, the client's lead_id, the field, a code and a fixed message (never a cell value,
so never a phone number or name); they are deleted LEADLINE_IMPORT_RETENTION_SECONDS after the
import ended, and erasing a lead clears its lead_id from them (`leads.services.lead_erase`).

Workers claim imports with a lease (SKIP LOCKED on PostgreSQL); every write a worker makes
checks its lease token and the expected status, so a worker whose lease was taken over (or
whose import was cancelled) stops at its next write. A crashed worker's import is claimed
again once its lease expires and starts its phase over: validation from the first row, the
import from scratch (its transaction never committed).
"""

from .csvfile import problems_csv
from .errors import ImportRejected, ImportTooLarge
from .jobs import MAX_ATTEMPTS, import_claim, import_process, imports_process_next
from .selectors import import_get, imports_recent, problems_sample
from .services import (
    import_cancel,
    import_proceed_with_valid_rows,
    import_start,
    imports_purge,
)

__all__ = [
    "MAX_ATTEMPTS",
    "ImportRejected",
    "ImportTooLarge",
    "import_cancel",
    "import_claim",
    "import_get",
    "import_proceed_with_valid_rows",
    "import_process",
    "import_start",
    "imports_process_next",
    "imports_purge",
    "imports_recent",
    "problems_csv",
    "problems_sample",
]
