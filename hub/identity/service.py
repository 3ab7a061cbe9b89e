"""Authentication as a use case: verify the token, check the purpose, log every refusal.

Every failure answers the same generic 401 (no oracle) while the access log gets the precise
reason code; an unknown or missing purpose answers 400 and is logged with the actor.

Refusals before a viewer is known, and rate-limited requests, cost the sender nothing but
would each cost an access-log entry: they go through the throttle's `RefusalCounter`, which
logs the first ones from a source in a minute one by one and counts the rest into one entry
with a `count` (ADR 0404).
"""

from __future__ import annotations

from typing import Any

from hub.audit.entry import Action, Outcome
from hub.audit.log import ANONYMOUS, AccessLog, Actor, Event, RequestInfo
from hub.db.session import Database
from hub.errors import InvalidPurpose, Unauthenticated
from hub.identity.keysets import JwksUrlKeySource, KeySetResolver, PartnerKeys, StaticKeySource
from hub.identity.partner_keys import load_partner_jwks
from hub.identity.registry import NetworkRegistry
from hub.identity.replay import DatabaseReplayGuard
from hub.identity.throttle import Tally, Throttle
from hub.identity.tokens import AuthenticationError, ReplayGuard, verify_token
from hub.identity.viewer import Viewer
from hub.settings import Settings
from hub.vocabulary import PartnerKind, Purpose, Role


def build_key_resolver(settings: Settings, registry: NetworkRegistry) -> KeySetResolver:
    """One key source per registered partner; a bad key file fails start-up, not a request."""
    partners: dict[str, PartnerKeys] = {}
    for partner in registry.partners.values():
        roles = frozenset(r.value for r in registry.allowed_roles(partner.id))
        jwks = load_partner_jwks(settings, partner)
        source: Any
        if jwks is None:
            assert partner.jwks_location is not None
            source = JwksUrlKeySource(partner.jwks_location, alg=partner.alg)
        else:
            source = StaticKeySource(jwks, alg=partner.alg)
        partners[partner.id] = PartnerKeys(source=source, allowed_roles=roles)
    return KeySetResolver(partners)


class Authenticator:
    def __init__(
        self,
        *,
        db: Database,
        log: AccessLog,
        registry: NetworkRegistry,
        keys: KeySetResolver,
        audience: str,
        replay: ReplayGuard | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self._db = db
        self._log = log
        self._registry = registry
        self._keys = keys
        self._audience = audience
        self._replay = replay or DatabaseReplayGuard(db)
        #: rate limits and refusal counting; public so the middleware (and tests, with a
        #: clock of their own) reach the one instance of this process
        self.throttle = throttle or Throttle.unlimited()

    def authenticate(
        self,
        authorization: str | None,
        purpose_header: str | None,
        request: RequestInfo,
        certificate: bytes | None = None,
    ) -> Viewer:
        """Return the viewer, or log the refusal and raise (401 or 400).

        `certificate`: the DER of the client certificate of the TLS connection, if any; a
        certificate-bound token is only good with it (RFC 8705, hub.identity.binding)."""
        purpose = _parse_purpose(purpose_header)
        request = RequestInfo(request.request_id, request.source, purpose)
        raw = _bearer(authorization)
        if raw is None:
            self._refuse_counted(Action.AUTH_FAILURE, "token:missing_bearer", request, ANONYMOUS)
            raise Unauthenticated()
        try:
            token = verify_token(
                raw,
                audience=self._audience,
                keys=self._keys,
                replay=self._replay,
                certificate=certificate,
                binding_required=self._certificate_bound,
            )
        except AuthenticationError as exc:
            self._refuse_counted(Action.AUTH_FAILURE, f"token:{exc.reason}", request, ANONYMOUS)
            raise Unauthenticated() from None
        partner = self._registry.partners[token.partner_id]
        actor = Actor(
            partner=token.partner_id,
            partner_kind=PartnerKind(partner.kind),
            user=token.user,
            roles=tuple(sorted(Role(r) for r in token.roles)),
        )
        if purpose is None:
            reason = "purpose:missing" if not purpose_header else "purpose:unknown"
            self._refuse(Action.REQUEST_REJECTED, reason, request, actor=actor)
            raise InvalidPurpose(
                "State the purpose in the Purpose header, one of: "
                + ", ".join(p.value for p in Purpose)
                + "."
            )
        return Viewer(
            partner=token.partner_id,
            partner_kind=PartnerKind(partner.kind),
            user=token.user,
            roles=frozenset(actor.roles),
            purpose=purpose,
            request=request,
            display_name=token.display_name,
        )

    def _certificate_bound(self, partner_id: str) -> bool:
        partner = self._registry.partners.get(partner_id)
        return partner is not None and partner.certificate_bound

    def refuse_throttled(self, reason: str, request: RequestInfo, actor: Actor = ANONYMOUS) -> None:
        """Log (or count) a request refused by a rate limit: `request.rejected`, denied."""
        self._refuse_counted(Action.REQUEST_REJECTED, reason, request, actor)

    def refuse_login(self, reason: str, request: RequestInfo, actor: Actor = ANONYMOUS) -> None:
        """Log (or count) a failed web login (`auth.failure`, denied): the reason code only,
        never what the identity provider or the browser sent (ADR 0015)."""
        self._refuse_counted(Action.AUTH_FAILURE, reason, request, actor)

    def flush_refusals(self, *, final: bool = False) -> int:
        """Write the counts of ended minute windows (all counts when `final`, at shutdown) as
        one entry each; answers how many entries were written. Run periodically by every
        hub process, and on a clean stop."""
        refusals = self.throttle.refusals
        tallies = refusals.take_all() if final else refusals.take_due()
        self._write_tallies(tallies)
        return len(tallies)

    def _refuse_counted(
        self, action: Action, reason: str, request: RequestInfo, actor: Actor
    ) -> None:
        # Counted per partner, not per user or role: that bounds the counts a source can
        # make us hold. A refusal logged one by one keeps the whole actor.
        counted_as = Actor(partner=actor.partner, partner_kind=actor.partner_kind)
        log_now, due = self.throttle.refusals.record(action, reason, request.source, counted_as)
        try:
            self._write_tallies(due)
            if log_now:
                self._refuse(action, reason, request, actor=actor)
        except BaseException:
            # the request fails (500) as any unloggable refusal does, but it stays counted:
            # written with the next flush, so no refusal goes unaccounted
            if log_now:
                tally = Tally(action, reason, request.source, counted_as, 1)
                self.throttle.refusals.put_back([tally])
            raise

    def _write_tallies(self, tallies: list[Tally]) -> None:
        """One entry with a count per tally, all in one transaction; if that fails, the
        counts go back to the counter (written with the next flush) and the error is raised."""
        if not tallies:
            return
        try:
            with self._db.transaction() as session:
                for tally in tallies:
                    self._log.append(
                        session,
                        Event(
                            action=tally.action,
                            outcome=Outcome.DENIED,
                            reason=tally.reason,
                            count=tally.count,
                        ),
                        actor=tally.actor,
                        request=RequestInfo(source=tally.source),
                    )
        except BaseException:
            self.throttle.refusals.put_back(tallies)
            raise

    def _refuse(
        self, action: Action, reason: str, request: RequestInfo, *, actor: Actor = ANONYMOUS
    ) -> None:
        with self._db.transaction() as session:
            self._log.append(
                session,
                Event(action=action, outcome=Outcome.DENIED, reason=reason),
                actor=actor,
                request=request,
            )


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _parse_purpose(value: str | None) -> Purpose | None:
    if not value:
        return None
    try:
        return Purpose(value.strip())
    except ValueError:
        return None
