"""Import of historical cases and export of tickets (CSV/XLSX); format documented in columns.py."""

from hotline.imports.exporter import ExportRefused, export_file
from hotline.imports.importer import ImportFailed, ImportResult, RowError, import_file

__all__ = ["ExportRefused", "ImportFailed", "ImportResult", "RowError", "export_file", "import_file"]
