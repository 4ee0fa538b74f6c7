"""{{ field|described }}: a form field's widget tied to its help and its errors.

Django names the help text in the widget's ``aria-describedby`` but not the errors; a
screen reader that lands on an invalid field then hears nothing of what is wrong (WCAG 3.3.1,
1.3.1). The error paragraphs of partials/field.html carry ``<auto_id>_error``; this adds that
id, and ``aria-invalid``, to the widget.
"""

from django import template
from django.forms import BoundField

register = template.Library()


@register.filter
def described(field: BoundField):
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    attrs = {}
    if field.errors and field.auto_id:
        ids.append(f"{field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if ids and field.auto_id:
        attrs["aria-describedby"] = " ".join(ids)
    return field.as_widget(attrs=attrs)
