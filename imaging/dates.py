"""Imaging dates as the board reads them (PS3.15 E.3.6, Retain Longitudinal Temporal
Information with Modified Dates Option).

De-identified studies carry dates shifted by a whole number of days, the same for every study
of a case (`imaging.deid.date_shift_days`, derived from the installation secret and the case).
So the intervals between studies are true, and they are what a board needs ("the MRI 42 days
after the first CT"). Each date is shown:
- to readers who may see the patient's identity (`CaseAccess.can_see_identity`: submitter,
  chair, coordinator): the real date, labelled as such (others in the same meeting see the
  shifted one), recomputed here from the shift; it never leaves the server for anyone else;
- to everyone else: the shifted date, labelled as shifted;
and to all, the interval in days from the case's first dated study.

A study stored without de-identification (a board that turned it off) has its real date,
shown unlabelled to everyone, as that board chose.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from board.dates import format_day
from imaging import deid


@dataclass(frozen=True)
class ShownDate:
    date: datetime.date | None  # what this reader sees
    shifted: bool  # the date is the de-identified one
    interval_days: int | None  # days since the case's first dated study (true in any case)
    real: bool = False  # a de-identified study's real date (identity readers only)

    @property
    def text(self) -> str:
        return format_day(self.date)

    @property
    def interval(self) -> str:
        """ "first study" or "+42 days" (never negative: counted from the first study)."""
        days = self.interval_days
        if days is None:
            return ""
        if days == 0:
            return _("first study")
        return ngettext("+%(n)s day", "+%(n)s days", days) % {"n": days}

    @property
    def label(self) -> str:
        """One line: "10 Feb 2023 (shifted date) · +42 days"."""
        if self.date is None:
            return ""
        note = _("shifted date") if self.shifted else _("real date") if self.real else ""
        parts = [self.text + (f" ({note})" if note else "")]
        if self.interval:
            parts.append(self.interval)
        return " · ".join(parts)


def date_shift(case) -> int:
    """The days the case's de-identified dates were moved by (negative)."""
    ctx = deid.DeidContext(
        secret=settings.DEID_SECRET.encode(), case_key=case.uuid.hex, pseudonym=case.pseudonym
    )
    return deid.date_shift_days(ctx)


def shown_dates(access, studies) -> dict[int, ShownDate]:
    """Study pk -> how its date is shown to the reader of `access` (a CaseAccess)."""
    studies = list(studies)
    shift = date_shift(access.case)
    real = {
        s.pk: (s.study_date - datetime.timedelta(days=shift) if s.deidentified else s.study_date)
        for s in studies
        if s.study_date is not None
    }
    first = min(real.values(), default=None)
    out = {}
    for study in studies:
        if study.study_date is None:
            out[study.pk] = ShownDate(None, False, None)
            continue
        identity = access.can_see_identity
        shifted = study.deidentified and not identity
        out[study.pk] = ShownDate(
            date=study.study_date if shifted else real[study.pk],
            shifted=shifted,
            real=study.deidentified and identity,
            interval_days=(real[study.pk] - first).days,
        )
    return out
