"""The privacy officer's misuse signals (issue 18): per user of the officer's own partner.

Only the viewer's own partner's users are ever counted: `/audit/signals/{user}` for a user of
another partner answers exactly as for a user of one's own without entries (no oracle)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from hub.audit.signals import MisuseSignals, SignalReportOut, UserSignalsOut
from hub.context import HubContext, get_context
from hub.identity.dependencies import CurrentViewer

router = APIRouter(prefix="/audit/signals", tags=["audit"])

_PERIOD_HELP = "An ISO week (2026-W49) or a month (2026-12); default the last complete week."


def signals_service(ctx: Annotated[HubContext, Depends(get_context)]) -> MisuseSignals:
    return ctx.signals


Signals = Annotated[MisuseSignals, Depends(signals_service)]
# the pattern is checked by the service (a 400 problem+json), not here (a 422)
PeriodQuery = Annotated[str | None, Query(max_length=16, description=_PERIOD_HELP)]


@router.get(
    "",
    response_model=SignalReportOut,
    summary="Misuse signals of the users of one's own organisation in a period",
    description=(
        "For the privacy officer (purpose `audit`): per user of the viewer's partner, "
        "reads against the user's own history, reads outside office hours, reads of cases at "
        "tables the user does not work at, and refusals, each with the log entries behind it. "
        "The read is logged, naming the period."
        " Who: a `privacy_officer`."
    ),
)
def signal_report(
    viewer: CurrentViewer, signals: Signals, period: PeriodQuery = None
) -> SignalReportOut:
    return signals.report(viewer, period)


@router.get(
    "/{user}",
    response_model=UserSignalsOut,
    summary="One user's misuse signals with the entries behind them",
    description=(
        "Only users of the viewer's own partner are counted; any other user answers "
        "as a user without entries. The read is logged, naming the period and the user."
        " Who: a `privacy_officer`, purpose `audit`."
    ),
)
def user_signals(
    viewer: CurrentViewer,
    signals: Signals,
    user: Annotated[str, Path(max_length=64)],
    period: PeriodQuery = None,
) -> UserSignalsOut:
    return signals.for_user(viewer, user, period)
