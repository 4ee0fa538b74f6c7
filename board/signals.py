"""Sockets follow the session and the membership: logout, deactivation or leaving a board
closes the sockets that depended on them (published to the user's and the session's groups);
deactivation also revokes the user's API tokens."""

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from board.models import Membership, User
from board.tokens import tokens_revoke_all
from realtime.events import AccessRevoked, BoardAccessRevoked
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
        # Reactivating the account later must not bring old tokens back to life.
        tokens_revoke_all(user=instance, reason="deactivated")


@receiver(post_delete, sender=Membership)
def close_board_sockets_of_former_member(sender, instance: Membership, **kwargs) -> None:
    user = instance.user
    publish_on_commit(
        user_group(user.uuid),
        BoardAccessRevoked(board=str(instance.board.uuid), user=str(user.uuid)),
    )
