"""Writes for businesses, users and API tokens; each service owns its transaction."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from django.contrib.auth.password_validation import password_validators_help_texts
from django.contrib.auth.password_validation import validate_password as django_validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadline.core.errors import Conflict, NotFound, Unprocessable

from .models import ApiToken, Business, User
from .tokens import generate_token, hash_token

# Recording every use would turn each API call into a write; a minute's accuracy is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Bytes of randomness in a generated password: 24 URL-safe characters, well past the
# validators' minimum length (AUTH_PASSWORD_VALIDATORS) and never all digits or common.
GENERATED_PASSWORD_BYTES = 18


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def business_get_or_create(*, name: str, rate_limit_per_minute: int | None = None) -> Business:
    """The business called `name`, created if missing; the rate limit is set when given."""
    with transaction.atomic():
        business, _ = Business.objects.get_or_create(name=name)
        if rate_limit_per_minute is not None and (
            business.rate_limit_per_minute != rate_limit_per_minute
        ):
            business.rate_limit_per_minute = rate_limit_per_minute
            business.save(update_fields=["rate_limit_per_minute", "updated_at"])
    return business


def api_token_create(*, business: Business, name: str = "") -> IssuedToken:
    """Issue a token; the returned secret is the only copy that will ever exist."""
    secret, prefix = generate_token()
    with transaction.atomic():
        token = ApiToken.objects.create(
            business=business, name=name, prefix=prefix, token_hash=hash_token(secret)
        )
    return IssuedToken(token=token, secret=secret)


def api_token_revoke(*, prefix: str, business: Business | None = None) -> ApiToken:
    """Revoke the token with this prefix (within `business` when given); idempotent."""
    with transaction.atomic():
        tokens = ApiToken.objects.select_for_update().filter(prefix=prefix)
        if business is not None:
            tokens = tokens.filter(business=business)
        token = tokens.first()
        if token is None:
            raise NotFound("No token has that prefix.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Record that the token was used, at most once per minute per token."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def generate_password() -> str:
    """A random password for a login we create and print once (bootstrap, demo, rep add)."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


def password_validate(*, password: str, user: User) -> None:
    """Check `password` against AUTH_PASSWORD_VALIDATORS for `user` (unsaved is fine: the
    similarity check reads its username); Unprocessable names every rule it breaks."""
    try:
        django_validate_password(password, user=user)
    except ValidationError as exc:
        rules = " ".join(password_validators_help_texts())
        raise Unprocessable(
            f"Password refused: {' '.join(exc.messages)} Passwords must follow: {rules}"
        ) from None


def dashboard_user_create(
    *,
    business: Business,
    username: str | None = None,
    business_role: str = User.BusinessRole.OWNER,
) -> tuple[User, str]:
    """A new client-staff login for `business` with a random password, returned once; an
    owner unless `business_role` says otherwise (the first login of a business is its owner)."""
    if business_role not in User.BusinessRole.values:
        raise Unprocessable(
            f"Unknown business role {business_role!r}; one of "
            + ", ".join(User.BusinessRole.values)
            + "."
        )
    password = generate_password()
    with transaction.atomic():
        username = username or f"{business.name.lower().replace(' ', '-')[:100]}-" + (
            secrets.token_hex(3)
        )
        # Generated, so this fails only if the validators are made stricter than it.
        password_validate(password=password, user=User(username=username))
        user = User.objects.create_user(
            username=username,
            password=password,
            business=business,
            role=User.Role.CLIENT,
            business_role=business_role,
        )
    return user, password


class _Reps(Protocol):
    def add(self, *objs: User) -> None: ...


class RepCampaign(Protocol):
    """What `rep_upsert` needs of a campaign (campaigns.models.Campaign, a layer above)."""

    @property
    def business_id(self) -> int: ...

    @property
    def reps(self) -> _Reps: ...


def rep_upsert(
    *, campaign: RepCampaign, username: str, phone_number: str, password: str | None = None
) -> tuple[User, bool]:
    """Create a rep of the campaign's business (or update one) and assign it to the campaign.

    Returns the rep and whether it was created. The phone must already be normalised (E.164);
    an existing user of another business, or one who is not a rep, is refused, and so is a
    password the validators refuse (Unprocessable).
    """
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(username=username).first()
        created = existing is None
        if existing is not None and (
            existing.role != User.Role.REP or existing.business_id != campaign.business_id
        ):
            raise Conflict(f"User {username!r} exists and is not a rep of this business.")
        if password:
            # Before any write; an unsaved rep carries the username the similarity check reads.
            candidate = existing or User(username=username, phone_number=phone_number)
            password_validate(password=password, user=candidate)
        if existing is None:
            user = User.objects.create_user(
                username=username,
                password=password,
                role=User.Role.REP,
                business_id=campaign.business_id,
                phone_number=phone_number,
            )
        else:
            user = existing
            user.phone_number = phone_number
            if password:
                user.set_password(password)
            user.save()
        campaign.reps.add(user)
    return user, created


def supervisor_upsert(*, username: str, password: str | None = None) -> tuple[User, bool]:
    """Create a supervisor (operators' floor staff, no business) or update one's password.

    Returns the user and whether it was created; an existing user who is not a supervisor is
    refused, and so is a password the validators refuse. Their campaigns are set by
    campaigns.services.campaign_supervisors_set.
    """
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(username=username).first()
        if existing is not None and existing.role != User.Role.SUPERVISOR:
            raise Conflict(f"User {username!r} exists and is not a supervisor.")
        if password:
            password_validate(password=password, user=existing or User(username=username))
        if existing is None:
            user = User.objects.create_user(
                username=username, password=password, role=User.Role.SUPERVISOR
            )
            return user, True
        if password:
            existing.set_password(password)
            existing.save(update_fields=["password"])
        return existing, False
