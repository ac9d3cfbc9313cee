"""Who may use the operator's console, and for what.

Two roles on accounts: `admin` (everything) and `support` (reading, and answering support
messages). Either needs two-factor sign-in turned on before the console opens: a console
session can move money and read every account. Granted and revoked by the CLI
(`aiusage admin grant|revoke`), each change written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.models import User
from aiusage.models.base import id_of
from aiusage.services import audit, twofactor
from aiusage.services.errors import ServiceError

ADMIN = "admin"
SUPPORT = "support"
ROLES = (ADMIN, SUPPORT)

# What each role may do beyond reading the console.
_PERMISSIONS: dict[str, frozenset[str]] = {
    ADMIN: frozenset(
        {"credit", "refund", "suspend", "reset_2fa", "resend_verification", "prices", "support"}
    ),
    SUPPORT: frozenset({"support"}),
}

# Why the console stays closed to a signed-in account.
NOT_OPERATOR = "not_operator"
NEEDS_TWO_FACTOR = "needs_two_factor"


@dataclass(frozen=True)
class Operator:
    """The person acting in the console (or `cli`): what the audit log names."""

    id: int | None
    label: str  # the account's email, or "cli"
    role: str

    def may(self, permission: str) -> bool:
        return permission in _PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        """Refuses an action the role does not allow (checked by every service that changes
        something, whatever page or command called it)."""
        if not self.may(permission):
            raise ServiceError("forbidden", "Your role does not allow this.", status=403)


CLI = Operator(None, "cli", ADMIN)  # whoever holds a shell on the server


async def console_operator(db: AsyncSession, user: User | None) -> Operator | str:
    """The operator a signed-in account acts as in the console, or why it may not."""
    if user is None or user.role not in ROLES or user.closed_at is not None:
        return NOT_OPERATOR
    if user.suspended_at is not None:
        return NOT_OPERATOR
    if not await twofactor.is_enabled(db, id_of(user)):
        return NEEDS_TWO_FACTOR
    return Operator(user.id, user.email, user.role)


async def set_role(db: AsyncSession, actor: Operator, user: User, role: str | None) -> None:
    """Grants `role` (admin or support) or, with None, revokes the account's role."""
    actor.require("suspend")  # only admins hand out roles
    if role is not None and role not in ROLES:
        raise ServiceError("bad_role", f"The role must be one of: {', '.join(ROLES)}.")
    before = user.role
    user.role = role
    await audit.record(
        db,
        actor,
        "role.grant" if role else "role.revoke",
        "user",
        user.id,
        before={"role": before},
        after={"role": role},
    )
