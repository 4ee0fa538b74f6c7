"""{% next_step case who as step %}: what happens next to ``case`` for its reader (cases.next_step).

``who`` is the page's CaseAccess, or a reader's name where a list knows it ("referrer",
"patient", "panelist", "manager") and has no access object per row.
"""

from django import template

from cases import next_step as steps

register = template.Library()


@register.simple_tag
def next_step(case, who) -> steps.NextStep:
    return steps.next_step(case, who)
