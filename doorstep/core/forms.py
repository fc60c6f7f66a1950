"""Small form helpers shared by every app's pages (no domain forms here)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.core.ids import id_param


def yes_no_select(yes: Any = None, no: Any = None) -> forms.Select:
    """The widget of a yes/no filter: 全部 / yes / no. A BooleanFilter's own widget offers 未知/是/否, and 未知
    reads as a value of the data, not as "do not filter"."""
    return forms.Select(choices=[("", _("全部")), ("true", yes or _("是")), ("false", no or _("否"))])


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


def style(form: forms.BaseForm) -> None:
    """Tabler classes on every widget; invalid fields marked so the error shows next to them."""
    errors = form._errors or {}  # never `form.errors` here: that would validate before the fields are final
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = "form-select"
        elif isinstance(widget, forms.HiddenInput):
            continue
        else:
            css = "form-control"
        if name in errors:
            css += " is-invalid"
        widget.attrs["class"] = css


class StyledMixin:
    """Tabler classes on a form's widgets, kept right after validation and after errors from a service."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style(self)

    def full_clean(self) -> None:
        super().full_clean()
        style(self)

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        style(self)  # errors from the service arrive after validation


class StyledForm(StyledMixin, forms.Form):
    pass
