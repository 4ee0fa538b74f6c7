"""Every model of ours is in the Django admin, and its list renders."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

OUR_APPS = ("board", "cases", "meetings", "imaging", "realtime")
MODELS = [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def test_there_are_models_to_check():
    assert len(MODELS) >= 10


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_model_is_registered(model):
    assert admin.site.is_registered(model)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_changelist_renders(admin_client, cast, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
