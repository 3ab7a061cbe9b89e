"""API models of the privacy officer's tools. Decisions and field names, never content."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.vocabulary import PartnerKind, Phase, Purpose, Role, TableId

_ID = r"^[A-Za-z0-9._-]{1,64}$"
_DIGEST = r"^[0-9a-f]{64}$"
_TYPE_ID = r"^[a-z][a-z_]*\.[a-z][a-z_]*/[1-9][0-9]{0,3}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- versions -----------------------------------------------------------------------------


class PolicyFileOut(BaseModel):
    path: str
    sha256: str
    bytes: int
    test: bool = Field(description="A _test.rego module (the policy's own tests).")


class PersonOut(BaseModel):
    partner: str
    user: str


class ApprovalOut(BaseModel):
    partner: str
    user: str
    approved_at: datetime
    against: str | None = Field(
        description="The active version (or suite) the approver's diff was against."
    )
    diff_digest: str | None = Field(description="The digest of the diff the approver quoted.")
    counts: bool = Field(
        description="Counts now: given on the diff against what is active now, by an "
        "eligible partner (not the loader's; a key partner when the network requires it)."
    )


class QuorumOut(BaseModel):
    approvals: int = Field(description="Distinct partners that must approve.")
    key_partners_only: bool = Field(description="Only key partners count.")


class ApprovalIn(Strict):
    """An approval quotes the digest of the diff its approver was shown."""

    diff_digest: str = Field(
        pattern=_DIGEST,
        description="`digest` of the diff against the ACTIVE version "
        "(GET /api/v1/policies/active/diff/{version}, or `vhhub policy diff`); a digest of "
        "an older diff is refused with 409.",
    )


class TestSummaryOut(BaseModel):
    __test__ = False  # not a pytest class

    total: int
    failed: list[str] = Field(description="Qualified names of failing tests (at most 50).")
    failed_count: int
    rules_exercised: int
    rules: int


class ProtectedCheckOut(BaseModel):
    suite: str | None = None
    missing: list[str] = Field(description="Protected test files the version lacks.")
    changed: list[str] = Field(description="Protected test files the version changed.")
    total: int = 0
    failed: list[str] = Field(default_factory=list, description="At most 50 names.")
    failed_count: int = 0
    intrusions: list[str] = Field(
        default_factory=list,
        description="Policy modules or rules of the version inside a protected test package.",
    )
    loads: bool = True
    rules_exercised: int = 0
    rules: int = 0
    passed: bool = False


class CoverageCheckOut(BaseModel):
    rules_exercised: int
    rules: int
    active_rules_exercised: int | None
    no_longer_exercised: list[str]


class VersionChecksOut(BaseModel):
    """The network's requirements of a new version, checked against the active version and
    the protected test suite (at load; run again at every approval)."""

    passed: bool
    against: str | None
    suite: str | None
    problems: list[str]
    protected: ProtectedCheckOut
    coverage: CoverageCheckOut


class PolicyVersionOut(BaseModel):
    version: str = Field(description="SHA-256 over the policy and data files (hex).")
    status: str = Field(description="inactive | active | retired")
    active: bool
    origin: str | None = Field(description="shipped (vhhub init) | cli | upload")
    files: list[PolicyFileOut]
    loaded_at: datetime
    loaded_by: PersonOut | None = Field(description="None: the operator (CLI or init).")
    approvals: list[ApprovalOut]
    approvals_needed: int = Field(description="Distinct partners needed to activate.")
    quorum: QuorumOut
    approvals_counted: list[str] = Field(description="The partners whose approval counts now.")
    tests_passed: bool | None
    tests: TestSummaryOut | None
    checks: VersionChecksOut | None
    activated_at: datetime | None
    retired_at: datetime | None


class PolicyVersionList(BaseModel):
    active: str | None
    versions: list[PolicyVersionOut]


class ApprovalResult(BaseModel):
    approval_recorded: bool = Field(
        description="False: this approver's partner had already approved on this diff."
    )
    activated: bool = Field(description="This approval made the version active.")
    policy: PolicyVersionOut


# --- the protected test suite ----------------------------------------------------------------


class SuiteRunOut(BaseModel):
    against: str | None = Field(description="The policy version the suite was run against.")
    total: int
    failed: list[str]
    failed_count: int
    intrusions: list[str]
    loads: bool
    rules_exercised: int
    rules: int
    passed: bool


class ProtectedSuiteOut(BaseModel):
    suite: str = Field(description="SHA-256 over the suite's _test.rego files (hex).")
    status: str = Field(description="inactive | active | retired")
    active: bool
    origin: str = Field(description="shipped (vhhub init) | cli | upload")
    files: list[PolicyFileOut]
    loaded_at: datetime
    loaded_by: PersonOut | None
    approvals: list[ApprovalOut]
    approvals_needed: int
    quorum: QuorumOut
    approvals_counted: list[str]
    checks: SuiteRunOut | None = Field(description="The suite against the active version.")
    activated_at: datetime | None
    retired_at: datetime | None


class ProtectedSuiteList(BaseModel):
    active: str | None
    suites: list[ProtectedSuiteOut]


class SuiteRuleChangeOut(BaseModel):
    rule: str = Field(description="package.rule of a test module")
    change: str = Field(description="added | removed | changed")
    test: bool = Field(description="A test (test_*), not a helper.")
    old: str | None = Field(description="The rule's source before.")
    new: str | None = Field(description="The rule's source after.")


class SuiteDiffOut(BaseModel):
    old: str | None
    new: str
    files_added: list[str]
    files_removed: list[str]
    files_changed: list[str]
    rules: list[SuiteRuleChangeOut]
    summary: dict[str, int]
    digest: str = Field(
        description="SHA-256 over the canonical JSON of this diff (without `digest`); an "
        "approval of the suite quotes it."
    )


class SuiteApprovalResult(BaseModel):
    approval_recorded: bool
    activated: bool
    suite: ProtectedSuiteOut


# --- matrix -------------------------------------------------------------------------------


class MatrixCellOut(BaseModel):
    phase: str
    purpose: str
    profile: str
    known_profile: bool
    domains: dict[str, str] = Field(description="life domain -> level the profile gives")
    fact_types: dict[str, str] = Field(description="fact type -> level (wins over domain)")


class MatrixRowOut(BaseModel):
    row: str = Field(description="A partner kind, or procesregisseur / casusregisseur / auditor.")
    family: str
    label: str
    rules: list[str] = Field(description="Annotated rules that apply on top of this row.")
    cells: list[MatrixCellOut]


class MatrixTableOut(BaseModel):
    table: str
    title: str
    rows: list[MatrixRowOut]


class RuleOut(BaseModel):
    title: str
    description: str
    source: str = Field(description="METADATA custom.source: the legal source of the rule.")


class MatrixOut(BaseModel):
    version: str
    life_domains: list[str]
    phases: list[str]
    levels: list[str]
    tables: list[MatrixTableOut]
    never_shared: dict[str, list[str]] = Field(
        description="fact type -> fields only the publishing partner ever sees"
    )
    publisher_sensitivity: dict[str, str] = Field(
        default_factory=dict,
        description="publisher kind -> the category (special, criminal) its facts carry at least",
    )
    reveals: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="fact type -> {field: what it reveals}, left out of summaries for partners"
        " without a care or justice task",
    )
    rules: dict[str, RuleOut]


# --- simulation ---------------------------------------------------------------------------


class SimulatedViewerIn(Strict):
    """Who to simulate: a partner kind (or a partner id, whose kind the registry knows)."""

    partner_kind: PartnerKind | None = None
    roles: list[Role] = Field(min_length=1, max_length=6)
    partner: str | None = Field(default=None, pattern=_ID)
    user: str | None = Field(default=None, pattern=_ID)
    invited: bool | None = Field(
        default=None,
        description="Invited as a participant (default: yes; on a real case with a "
        "partner id: as the case says).",
    )

    @model_validator(mode="after")
    def _kind_or_partner(self) -> SimulatedViewerIn:
        if self.partner_kind is None and self.partner is None:
            raise ValueError("give partner_kind or partner")
        return self


class SyntheticFactIn(Strict):
    type: str = Field(pattern=_TYPE_ID, examples=["housing.rent_arrears/1"])
    domain: str | None = Field(default=None, pattern=r"^[a-z_]{1,32}$")
    publisher_kind: PartnerKind | None = None
    shareable: bool = False
    published_by_viewer: bool = False


class SimulationIn(Strict):
    """Either synthetic facts at a table and phase, or a real case (case_id) - never both."""

    viewer: SimulatedViewerIn
    table: TableId | None = None
    phase: Phase | None = None
    purpose: Purpose | None = Field(
        default=None, description="The simulated request's purpose (default: the phase's)."
    )
    fact_types: list[Annotated[str, Field(pattern=_TYPE_ID, max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    facts: list[SyntheticFactIn] = Field(default_factory=list, max_length=200)
    publisher_kind: PartnerKind | None = Field(
        default=None, description="Publisher kind for fact_types (default per type)."
    )
    shareable: bool = False
    case_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,36}$")
    version: str | None = Field(
        default=None, pattern=r"^([0-9a-f]{8,64}|active)$", description="Default: active."
    )

    @model_validator(mode="after")
    def _synthetic_or_case(self) -> SimulationIn:
        if self.case_id is not None:
            if self.fact_types or self.facts or self.table is not None:
                raise ValueError("a case simulation takes its facts and table from the case")
        elif self.table is None or self.phase is None:
            raise ValueError("a synthetic simulation needs a table and a phase")
        return self


class SimulatedViewerOut(BaseModel):
    partner_kind: str
    roles: list[str]
    partner: str
    invited: bool


class SimulatedFactOut(BaseModel):
    id: str = Field(description="s1, s2, ... for synthetic facts; the fact id on a real case.")
    type: str
    title: str
    domain: str
    sensitivity: str
    publisher_kind: str
    shareable: bool
    published_by_viewer: bool
    level: str
    released_fields: list[str] = Field(description="Field names only, never values.")
    withheld_fields: list[str]
    never_shared: list[str]
    rule: str
    rule_title: str
    source: str
    reason: str


class SimulationOut(BaseModel):
    version: str
    table: str
    phase: str
    purpose: str
    case_id: str | None
    viewer: SimulatedViewerOut
    facts: list[SimulatedFactOut]
    levels: dict[str, int] = Field(description="How many facts at each level.")


# --- diff ---------------------------------------------------------------------------------


class TypeChangeOut(BaseModel):
    type: str
    fields_added: list[str]
    fields_removed: list[str]


class ChangeOut(BaseModel):
    table: str
    phase: str
    purpose: str
    viewer: str = Field(description="Partner kind, or a role family / outsider.")
    viewer_label: str
    scope: str = Field(description="domain: every fact of the domain alike; fact_type: one type")
    domain: str
    fact_type: str | None
    variants: list[str] = Field(description="plain | shareable | own (published by the viewer)")
    old_level: str
    new_level: str
    old_rule: str
    new_rule: str
    direction: str = Field(description="more | less | other")
    fact_types: list[TypeChangeOut]
    text: str = Field(description="The change in words, for a privacy officer.")


class DiffOut(BaseModel):
    old: str
    new: str
    table: str | None
    exhaustive: bool
    contexts: int = Field(description="Contexts (table x phase x purpose x viewer) asked.")
    decisions: int = Field(description="Decisions compared per version.")
    reason_only: int = Field(description="Decisions whose reason changed but not what is seen.")
    sentinels: dict[str, str] = Field(
        description="table/phase -> the purpose that stood in for purposes neither version names"
    )
    changes: list[ChangeOut]
    summary: dict[str, int]
    digest: str = Field(
        description="SHA-256 over the canonical JSON of this diff (sorted keys, no whitespace, "
        "without `digest`). An approval quotes the digest of the full diff (no `table`) "
        "against the active version."
    )


# --- history ------------------------------------------------------------------------------


class HistoryApprovalOut(BaseModel):
    partner: str
    user: str
    approved_at: datetime
    against: str | None = Field(description="The version active when the approval was given.")
    diff_digest: str | None = Field(description="The digest of the diff the approver quoted.")


class FileChangesOut(BaseModel):
    """What the version's manifest changed against the version loaded before it."""

    against: str | None = Field(description="The version loaded before (None: the first).")
    added: list[str]
    removed: list[str]
    changed: list[str]


class HistoryEntryOut(BaseModel):
    version: str
    status: str = Field(description="inactive | active | retired")
    origin: str | None = Field(description="shipped (vhhub init) | cli | upload")
    loaded_at: datetime
    loaded_by: PersonOut | None = Field(description="None: the operator (CLI or init).")
    approvals: list[HistoryApprovalOut]
    activated_at: datetime | None
    retired_at: datetime | None
    files: FileChangesOut
    diff_changes: int | None = Field(
        description="Decisions changed against the version it was approved on (or the active "
        "one), when this hub process computed that diff; None: not computed here."
    )


class PolicyHistoryOut(BaseModel):
    """Every policy version the hub loaded, oldest first: who loaded and approved it, when
    it was active, and what it changed."""

    active: str | None
    versions: list[HistoryEntryOut]
