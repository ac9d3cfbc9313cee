"""The current-password check refuses with a fresh error each time: one module-level error
raised again and again would carry every earlier raise's frames in its traceback."""

from __future__ import annotations

import traceback

import pytest

from aiusage.models import User
from aiusage.services import reauth
from aiusage.services.errors import ServiceError
from aiusage.services.security import hash_password


async def _refusal(user: User, password: str) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        await reauth.confirm_password(user, password, "203.0.113.77")
    return caught.value


@pytest.mark.parametrize(
    ("given", "code"), [("", "current_password_required"), ("no", "wrong_password")]
)
async def test_each_refusal_is_its_own_error_with_its_own_traceback(given: str, code: str) -> None:
    user = User(
        email="reauth-traceback@example.com", password_hash=await hash_password("right one")
    )
    first = await _refusal(user, given)
    second = await _refusal(user, given)
    assert (first.code, second.code) == (code, code)
    assert first is not second
    depth = len(traceback.extract_tb(first.__traceback__))
    assert len(traceback.extract_tb(second.__traceback__)) == depth
