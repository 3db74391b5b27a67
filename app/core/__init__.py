"""Shared machinery with no business rules: htmx, formatting, audit, scope, PDFs, errors."""
