"""Sockets follow the session: logout or deactivation closes them."""

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver

from board.models import User
from realtime.events import AccessRevoked
from realtime.groups import session_group, user_group
from realtime.publish import publish_now, publish_on_commit


@receiver(user_logged_out)
def close_sockets_of_session(sender, request, user, **kwargs) -> None:
    session_key = getattr(request, "session", None) and request.session.session_key
    if session_key:
        publish_now(session_group(session_key), AccessRevoked(reason="logout"))


@receiver(post_save, sender=User)
def close_sockets_of_deactivated_user(sender, instance: User, **kwargs) -> None:
    if not instance.is_active:
        publish_on_commit(user_group(instance.uuid), AccessRevoked(reason="deactivated"))
