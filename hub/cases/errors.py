"""Errors about a case as a whole, shared by every use case that loads one."""

from __future__ import annotations

from hub.errors import Gone, Refusal


class CaseShredded(Gone):
    slug = "case-shredded"
    title = "Case shredded"
    default_detail = (
        "This case has passed its retention period and was crypto-shredded; "
        "its content can no longer be decrypted by anyone. / "
        "Deze casus is na afloop van de bewaartermijn vernietigd (crypto-shredding); "
        "de inhoud kan door niemand meer worden ontsleuteld."
    )


class CaseShreddedRefusal(CaseShredded, Refusal):
    """The gate's 410 to a viewer who stood in a shredded case: a refusal, so its
    access-log entry commits (ADR 0003). Raised before anything changes."""
