"""Simplified Chinese formats as Django ships them, except that dates are *shown* in form fields as ISO
(YYYY-MM-DD): every date field here is an <input type=date>, which reads nothing else — with Django's first
Chinese format (2026/11/29) each box opened empty and a form saved as shown was refused for a missing date.
The Chinese spellings are still accepted as input."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403
from django.conf.locale.zh_Hans.formats import DATE_INPUT_FORMATS as _DJANGO_DATE_INPUT_FORMATS

DATE_INPUT_FORMATS = ["%Y-%m-%d", *[f for f in _DJANGO_DATE_INPUT_FORMATS if f != "%Y-%m-%d"]]
