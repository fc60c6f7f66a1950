"""Small form helpers shared by every app's pages (no domain forms here)."""

from __future__ import annotations

from django import forms


def form_errors_text(form: forms.BaseForm) -> str:
    """Every error of a bound form in one line, "；"-separated, for a flash message or an error banner."""
    return "；".join(str(e) for errors in form.errors.values() for e in errors)
