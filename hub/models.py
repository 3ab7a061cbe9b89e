"""The model registry: importing this module registers every table on ``Base.metadata``.

Models live beside their feature (hub/<feature>/models.py, ADR 0002); alembic and the tests
import this one module to see them all.
"""

from hub.audit.models import Checkpoint, LogEntry, LogHead, LogSubject
from hub.audit.partner_log_models import EntryTrace, PartnerLogLink, PartnerLogState
from hub.audit.witness_models import Cosignature, LogKeyList, WitnessKey
from hub.cases.models import AgendaItem, Case, Participant, Subject, SubjectIndex
from hub.db.base import Base
from hub.disclosure.models import CaseKey
from hub.facts.models import Fact, FactSubject
from hub.identity.models import NetworkTable, Partner, PartnerKindRole, TableMembership, UsedToken
from hub.meetings.models import Meeting, MeetingInvitee, MeetingItem, MeetingMinutes
from hub.notifications.models import Delivery, DueReminder, OutboxEvent, Subscription
from hub.plans.models import PlanNote, PlanVersion
from hub.policy_review.models import (
    PolicyApproval,
    PolicyDiffDigest,
    PolicyVersion,
    ProtectedSuiteApproval,
    ProtectedTestSuite,
)
from hub.receipts.models import FactReceipt
from hub.web.models import CaseVisit, PendingLogin, WebSession

__all__ = [
    "AgendaItem",
    "Base",
    "Case",
    "CaseKey",
    "CaseVisit",
    "Checkpoint",
    "Cosignature",
    "Delivery",
    "DueReminder",
    "EntryTrace",
    "Fact",
    "FactReceipt",
    "FactSubject",
    "LogEntry",
    "LogHead",
    "LogKeyList",
    "LogSubject",
    "Meeting",
    "MeetingInvitee",
    "MeetingItem",
    "MeetingMinutes",
    "NetworkTable",
    "OutboxEvent",
    "Participant",
    "Partner",
    "PartnerKindRole",
    "PartnerLogLink",
    "PartnerLogState",
    "PendingLogin",
    "PlanNote",
    "PlanVersion",
    "PolicyApproval",
    "PolicyDiffDigest",
    "PolicyVersion",
    "ProtectedSuiteApproval",
    "ProtectedTestSuite",
    "Subject",
    "SubjectIndex",
    "Subscription",
    "TableMembership",
    "UsedToken",
    "WebSession",
    "WitnessKey",
]
