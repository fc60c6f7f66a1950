"""Small form helpers shared by every app's pages (no domain forms here)."""

from __future__ import annotations

from typing import Any

from django import forms

from doorstep.core.ids import id_param


def form_errors_text(form: forms.BaseForm) -> str:
    """Every error of a bound form in one line, "；"-separated, for a flash message or an error banner."""
    return "；".join(str(e) for errors in form.errors.values() for e in errors)


class IdModelChoiceField(forms.ModelChoiceField):
    """A model choice whose value must be an ASCII id that fits 64 bits before any query ("²" or a
    20-digit number is "not a choice", never a 500)."""

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        if id_param(str(value).strip()) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A model multiple choice whose ids must fit 64 bits: anything else is "not a choice" before any query.
    Django guards `exact` lookups against integer overflow but not the `IN` list this field queries with,
    and SQLite cannot bind such a number (an OverflowError, i.e. a 500)."""

    def _check_values(self, value: Any) -> Any:
        for pk in value or ():
            if id_param(str(pk).strip()) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)
