"""Re-entering the password before a sensitive change (an API token, a new email address).

The check goes through ``authenticate(request=...)`` rather than ``check_password`` so that
an authentication backend that throttles or locks out (django-axes) counts the attempt. It
is a form field, not a view decorator, so that a second-factor step-up can later wrap the
same views without touching this.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


def password_confirmed(request: HttpRequest, password: str) -> bool:
    user = request.user
    if not user.is_authenticated or not password:
        return False
    again = authenticate(request=request, username=user.get_username(), password=password)
    return again is not None and again.pk == user.pk


class PasswordConfirmationForm(forms.Form):
    """A form that also asks for the signed-in user's current password."""

    password = forms.CharField(
        label=_("Your current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, request: HttpRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not password_confirmed(self.request, password):
            raise forms.ValidationError(_("This is not your current password."))
        return password
