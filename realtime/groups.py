"""Channel-layer group names. Only ASCII letters, digits, '.', '-' and '_' are allowed."""

import hashlib
from uuid import UUID


def user_group(user_uuid: UUID) -> str:
    return f"user.{user_uuid.hex}"


def session_group(session_key: str) -> str:
    # The session key is a credential: never put it on the wire as is.
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def case_group(case_uuid: UUID) -> str:
    return f"case.{case_uuid.hex}"


def meeting_group(meeting_uuid: UUID) -> str:
    return f"meeting.{meeting_uuid.hex}"
