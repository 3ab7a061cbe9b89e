"""The Veiligheidshuis role play behind `vhhub demo`, played through the real HTTP API.

A family with problems in several life domains: nuisance reports at the police, a pending
prosecution at the OM, debts at the municipality's work & income, rent arrears and an
eviction procedure at the housing corporation, social work involvement, probation
supervision of one parent and GGZ care of the other. The case goes through intake,
screening, triage onto the multi_problem table, preparation, the case conference and the
plan of approach. Every step is an API call with a freshly minted token of the partner
that acts, exactly as a partner application would make it.

The narrator (this module) knows what every partner published, so next to each briefing it
can say what that partner did NOT get and why: it asks the policy engine about the facts'
metadata (never their content), as a privacy officer's simulation would.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from hub.audit.log import RequestInfo
from hub.cases.notices import dutch_today
from hub.context import HubContext
from hub.demo.personas import PARTNERS, ZVH
from hub.demo.server import LoopbackHub
from hub.facts.repository import FactRepository
from hub.identity.partner_keys import load_private_jwk
from hub.identity.tokens import mint_token
from hub.identity.viewer import Viewer
from hub.settings import PROJECT_ROOT
from hub.vocabulary import Purpose, Role

EXAMPLES = PROJECT_ROOT / "schemas" / "examples"


#: (publisher, fact type, the subjects it concerns (none: the whole case), short Dutch label)
FACTS: list[tuple[str, str, tuple[str, ...], str]] = [
    ("politie", "police.nuisance_report/1", ("vader",), "politie: overlastmelding"),
    ("politie", "police.incident/1", ("vader",), "politie: incident"),
    ("om", "prosecution.case_status/1", ("vader",), "om: strafzaak"),
    ("reclassering", "probation.supervision/1", ("vader",), "reclassering: toezicht"),
    ("gemeente-wi", "municipality.income_debt/1", ("moeder",), "gemeente: schulden"),
    ("woningcorporatie", "housing.rent_arrears/1", ("vader", "moeder"), "woning: huurachterstand"),
    ("woningcorporatie", "housing.eviction/1", (), "woning: ontruiming"),
    ("woningcorporatie", "housing.nuisance_complaint/1", ("vader",), "woning: overlastklacht"),
    ("maatschappelijk-werk", "social_work.involvement/1", ("moeder",), "mw: begeleiding"),
    ("ggz", "mental_health.involvement/1", ("moeder",), "ggz: behandeling"),
]
SUBJECTS = [
    {
        "role_in_case": "vader",
        "bsn": "111222333",
        "name": "Demo Vader",
        "date_of_birth": "1985-07-01",
        "address": "Voorbeeldstraat 1, 1234 AB Voorbeeldstad",
    },
    {
        "role_in_case": "moeder",
        "name": "Demo Moeder",
        "date_of_birth": "1988-04-12",
        "address": "Voorbeeldstraat 1, 1234 AB Voorbeeldstad",
    },
]
#: how the demo prints an identifying field the policy did not release to a partner
NOT_SHARED = "[niet gedeeld]"
#: ... and one the registering partner did not register (the policy may release it)
NOT_REGISTERED = "[niet geregistreerd]"
#: how the auditor names each parent when asking for their access report (AVG art. 15)
REPORT_IDENTIFIERS = {
    "vader": {"bsn": "111222333"},
    "moeder": {"name": "Demo Moeder", "date_of_birth": "1988-04-12"},
}
LEVEL_MARK = {"full": "V", "summary": "S", "existence": "B", "none": "-"}


class DemoFailed(RuntimeError):
    """A step of the role play got an answer it should not have."""


@dataclass
class DemoResult:
    case_id: str = ""
    steps: list[str] = field(default_factory=list)
    fact_ids: dict[str, str] = field(default_factory=dict)
    briefings: dict[str, dict[str, Any]] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    log: dict[str, Any] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict)
    #: the case conference: per partner, per minutes part's life domain, whether its text
    #: was released to it (ADR 0013)
    meeting: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "steps": self.steps,
            "facts": self.fact_ids,
            "briefings": self.briefings,
            "plan": self.plan,
            "log": self.log,
            "reports": self.reports,
            "meeting": self.meeting,
            "seconds": round(self.seconds, 2),
        }


class Actor:
    def __init__(
        self, ctx: HubContext, http: httpx.Client, partner: str, user: str, roles: list[str]
    ) -> None:
        self.ctx, self.http, self.partner, self.user, self.roles = ctx, http, partner, user, roles
        self._jwk = load_private_jwk(ctx.settings, partner)

    def call(
        self, method: str, path: str, purpose: str, body: Any = None, expect: int = 200
    ) -> Any:
        token = mint_token(
            partner_id=self.partner,
            user=self.user,
            roles=self.roles,
            private_jwk=self._jwk,
            audience=self.ctx.settings.audience,
        )
        response = self.http.request(
            method,
            f"/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Purpose": purpose},
        )
        if response.status_code != expect:
            raise DemoFailed(
                f"{method} {path} as {self.partner}: {response.status_code} "
                f"{response.json().get('detail', '')}"
            )
        return response.json()

    def lines(self, path: str, purpose: str, body: Any) -> list[dict[str, Any]]:
        """POST and read a JSON Lines answer (the data-subject access report)."""
        token = mint_token(
            partner_id=self.partner,
            user=self.user,
            roles=self.roles,
            private_jwk=self._jwk,
            audience=self.ctx.settings.audience,
        )
        response = self.http.post(
            f"/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Purpose": purpose},
        )
        if response.status_code != 200:
            raise DemoFailed(f"POST {path} as {self.partner}: {response.status_code}")
        return [json.loads(line) for line in response.text.splitlines()]


def _example(fact_type: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (EXAMPLES / f"{fact_type.replace('/', '.')}.json").read_text(encoding="utf-8")
    )
    return data


def play(ctx: HubContext) -> DemoResult:
    started = time.monotonic()
    result = DemoResult()
    with LoopbackHub(ctx) as hub, hub.client() as http:
        actors = {p: Actor(ctx, http, p, f"demo-{p}", roles) for p, (_, roles) in PARTNERS.items()}
        zvh = Actor(ctx, http, ZVH, "procesregisseur-1", ["procesregisseur"])
        auditor = Actor(ctx, http, ZVH, "auditor-1", ["auditor"])
        step = result.steps.append

        case = actors["politie"].call(
            "POST",
            "/cases",
            "intake",
            {
                "kind": "family",
                "proposed_table": "multi_problem",
                "reason": "Gezin met herhaalde overlast, schulden en dreigende huisuitzetting; "
                "vader onder toezicht, moeder in behandeling.",
                "subjects": SUBJECTS,
            },
            expect=201,
        )
        cid = result.case_id = case["id"]
        subjects = {s["role_in_case"]: s["id"] for s in case["subjects"]}
        step(
            "aanmelding: politie meldt het gezin aan (2 betrokkenen, identificerende gegevens "
            "versleuteld en alleen als blinde index doorzoekbaar)"
        )
        zvh.call("POST", f"/cases/{cid}/procesregie", "intake")
        taken = zvh.call("GET", f"/cases/{cid}", "intake")
        names = ", ".join(
            f"{s['role_in_case']} {s['name'] or NOT_SHARED} "
            f"(BSN {NOT_SHARED if 'bsn' in s['withheld'] else s['bsn'] or NOT_REGISTERED})"
            for s in taken["subjects"]
        )
        step(
            f"intake: de procesregisseur neemt de casus op zich en ziet wie het betreft: {names}, "
            "met de reden van aanmelding; het BSN niet, daarvoor heeft het Veiligheidshuis "
            "geen grondslag"
        )
        zvh.call("POST", f"/cases/{cid}/phase-changes", "intake", {"to": "screening"})
        screening = zvh.call("POST", f"/cases/{cid}/screenings", "screening", {})
        known = sum(r["known"] for r in screening["results"])
        step(
            f"screening: procesregisseur (Veiligheidshuis) ziet per betrokkene alleen hit/geen "
            f"hit: {known} van {len(screening['results'])} elders bekend"
        )
        zvh.call(
            "POST",
            f"/cases/{cid}/triage",
            "screening",
            {
                "criteria": {
                    "multiple_life_domains": True,
                    "criminal_or_nuisance_behaviour": True,
                    "multiple_chains_needed": True,
                    "impact_on_system_or_environment": True,
                },
                "decision": "accept",
                "table": "multi_problem",
            },
        )
        step(
            "triage: criteria Landelijk kader vastgelegd, casus aangenomen op de O3-tafel "
            "(multi_problem)"
        )
        for partner in PARTNERS:
            if partner != "politie":
                zvh.call("POST", f"/cases/{cid}/participants", "screening", {"partner": partner})
        step("deelnemers: " + ", ".join(p for p in PARTNERS if p != "politie") + " uitgenodigd")
        zvh.call("POST", f"/cases/{cid}/phase-changes", "screening", {"to": "preparation"})

        for number, (publisher, fact_type, concerns, label) in enumerate(FACTS):
            content = _example(fact_type)
            published = actors[publisher].call(
                "POST",
                f"/cases/{cid}/facts",
                "preparation",
                {
                    "idempotency_key": f"demo-{cid[:8]}-{number}",
                    "type": fact_type,
                    "subject_ids": [subjects[role] for role in concerns],
                    "legal_basis": "convenant_zvh",
                    "shareable": False,
                    "content": content,
                },
                expect=201,
            )
            result.fact_ids[label] = published["facts"][0]["id"]
        step(
            f"voorbereiding: {len(FACTS)} feiten gedeeld door {len(PARTNERS)} partners, "
            "elk gevalideerd tegen het feittype en versleuteld met de sleutel van de casus; "
            "elk feit zegt over wie het gaat (vader, moeder, beiden of het hele gezin)"
        )

        result.briefings["preparation"] = _briefings(ctx, actors, cid, "preparation", result)
        today = dutch_today().isoformat()
        for role in ("vader", "moeder"):
            zvh.call(
                "POST",
                f"/cases/{cid}/subjects/{subjects[role]}/notices",
                "preparation",
                {
                    "state": "informed",
                    "informed_on": today,
                    "channel": "in_person",
                    "informed_party": "subject",
                    "age_band": "adult",
                },
                expect=201,
            )
        step(
            "informeren: de procesregisseur legt vast dat vader en moeder vandaag in een "
            "persoonlijk gesprek zijn geïnformeerd dat hun casus wordt besproken; zonder dat "
            "kan de casus niet naar het casusoverleg"
        )
        zvh.call("POST", f"/cases/{cid}/phase-changes", "preparation", {"to": "case_conference"})
        zvh.call(
            "PUT",
            f"/cases/{cid}/casusregisseur",
            "case_conference",
            {"partner": "gemeente-wi", "user": "demo-gemeente-wi"},
        )
        step("casusoverleg: gemeente (Werk & Inkomen) wordt casusregisseur")
        result.briefings["case_conference"] = _briefings(
            ctx, actors, cid, "case_conference", result
        )
        result.meeting = _case_conference(zvh, actors, cid)
        housing = result.meeting["released"]["woningcorporatie"]
        step(
            "casusoverleg: de procesregisseur plant het overleg van de O3-tafel en zet de casus "
            "erop; woningcorporatie, ggz en gemeente zijn aanwezig; de casusregisseur legt het "
            "verslag vast op de leefgebieden huisvesting en geestelijke gezondheid; de "
            "woningcorporatie leest het verslag over huisvesting "
            f"{'wel' if housing.get('housing') else 'niet'}, dat over geestelijke gezondheid "
            f"{'wel' if housing.get('mental_health') else 'niet'}"
        )

        regisseur = actors["gemeente-wi"]
        regisseur.call("POST", f"/cases/{cid}/phase-changes", "case_conference", {"to": "plan"})
        ids = result.fact_ids
        # after the case conference of 12 January next year: never overdue when played
        next_year = dutch_today().year + 1
        regisseur.call(
            "PUT",
            f"/cases/{cid}/plan",
            "plan",
            {
                "based_on_revision": 0,
                "analysis": [
                    {
                        "life_domain": "housing",
                        "assessment": "Ontruiming dreigt door huurachterstand en overlastklachten.",
                        "fact_ids": [ids["woning: ontruiming"], ids["woning: overlastklacht"]],
                    },
                    {
                        "life_domain": "finances",
                        "assessment": "Problematische schulden; schuldhulp loopt niet.",
                        "fact_ids": [ids["gemeente: schulden"], ids["woning: huurachterstand"]],
                    },
                    {
                        "life_domain": "justice",
                        "assessment": "Vader onder toezicht; strafzaak loopt.",
                        "fact_ids": [ids["reclassering: toezicht"], ids["om: strafzaak"]],
                        "sensitivity": "criminal",
                    },
                    {
                        "life_domain": "mental_health",
                        "assessment": "Moeder in behandeling; afstemming met de behandelaar nodig.",
                        "fact_ids": [ids["ggz: behandeling"]],
                        "sensitivity": "special",
                    },
                ],
                "risk": {
                    "level": "high",
                    "assessment": "Huisuitzetting met kinderen binnen drie "
                    "maanden als er niets gebeurt.",
                    "life_domain": "housing",
                },
                "goals": [
                    {"id": "g1", "text": "Ontruiming voorkomen", "life_domain": "housing"},
                    {
                        "id": "g2",
                        "text": "Geen nieuwe overlast of strafbare feiten",
                        "life_domain": "safety",
                    },
                ],
                "interventions": [
                    {
                        "id": "i1",
                        "text": "Betalingsregeling en schuldhulptraject",
                        "owner": "gemeente-wi",
                        "deadline": f"{next_year}-01-15",
                        "goal_id": "g1",
                        "life_domain": "finances",
                    },
                    {
                        "id": "i2",
                        "text": "Ontruiming aanhouden zolang de regeling loopt",
                        "owner": "woningcorporatie",
                        "deadline": f"{next_year}-01-31",
                        "goal_id": "g1",
                        "life_domain": "housing",
                    },
                    {
                        "id": "i3",
                        "text": "Bijzondere voorwaarden en meldplicht handhaven",
                        "owner": "reclassering",
                        "deadline": f"{next_year}-03-01",
                        "goal_id": "g2",
                        "life_domain": "justice",
                        "sensitivity": "criminal",
                    },
                    {
                        "id": "i4",
                        "text": "Gezinsbegeleiding thuis",
                        "owner": "maatschappelijk-werk",
                        "deadline": f"{next_year}-02-01",
                        "goal_id": "g2",
                        "life_domain": "family_relations",
                    },
                ],
            },
            expect=201,
        )
        plan = actors["woningcorporatie"].call("GET", f"/cases/{cid}/plan", "plan")
        actors["woningcorporatie"].call(
            "POST",
            f"/cases/{cid}/plan/interventions/i2/status-changes",
            "plan",
            {"status": "in_progress", "note": "Ontruiming aangehouden."},
            expect=201,
        )
        step(
            "plan van aanpak: integrale analyse per leefgebied (verwijst naar feiten, kopieert "
            "ze niet), risico, doelen en interventies met eigenaar en termijn; elke tekst gaat "
            "per leefgebied door het beleid, zoals de feiten waarop hij rust"
        )
        result.plan = {
            "reader": "woningcorporatie",
            "analysis": [
                {
                    "life_domain": a["life_domain"],
                    "assessment": a["assessment"],
                    "facts": len(a["fact_ids"]),
                    "released": a["released"],
                    "reason": a["reason"],
                }
                for a in plan["analysis"]
            ],
            "risk": plan["risk"],
            "goals": plan["goals"],
            "interventions": [
                {
                    "id": i["id"],
                    "text": i["text"],
                    "owner": i["owner"],
                    "deadline": i["deadline"],
                    "released": i["released"],
                }
                for i in plan["interventions"]
            ],
        }
        regisseur.call("POST", f"/cases/{cid}/phase-changes", "plan", {"to": "execution"})
        step("uitvoering: de woningcorporatie meldt de voortgang van haar interventie")

        result.reports = _access_reports(auditor)
        step(
            "inzage (AVG art. 15): de controleur stelt voor vader en moeder elk een "
            "inzageoverzicht op; elk noemt alleen wat er met informatie over die ouder is gedaan"
        )
        result.log = _log_summary(ctx, auditor, cid)
    result.seconds = time.monotonic() - started
    return result


def _case_conference(zvh: Actor, actors: dict[str, Actor], cid: str) -> dict[str, Any]:
    """One case conference with minutes (ADR 0013): the procesregisseur schedules it and puts
    the case on it, the invitees attend, the casusregisseur records minutes on two life
    domains and a decision; then each invitee reads the minutes as the policy releases them."""
    purpose = "case_conference"
    # 12 January of next year: always ahead, however late the demo is played, and in winter
    # time (+01:00) in Amsterdam
    day = f"{dutch_today().year + 1}-01-12"
    meeting = zvh.call(
        "POST",
        "/meetings",
        purpose,
        {
            "table": "multi_problem",
            "starts_at": f"{day}T09:00:00+01:00",
            "ends_at": f"{day}T10:30:00+01:00",
            "location": "Veiligheidshuis, zaal 2",
            "chair": {"partner": ZVH, "user": zvh.user, "role": "procesregisseur"},
        },
        expect=201,
    )
    base = f"/meetings/{meeting['id']}"
    item = zvh.call("POST", f"{base}/items", purpose, {"case_id": cid}, expect=201)
    items = f"{base}/items/{item['id']}"
    invitees = ("woningcorporatie", "ggz", "gemeente-wi")
    for partner in invitees:
        zvh.call("POST", f"{items}/invitees", purpose, {"partner": partner})
    regisseur = actors["gemeente-wi"]
    regisseur.call(
        "PUT",
        f"{items}/attendance",
        purpose,
        {"attendance": [{"partner": p, "status": "present"} for p in invitees]},
    )
    regisseur.call(
        "POST",
        f"{items}/minutes",
        purpose,
        {
            "parts": [
                {
                    "life_domain": "housing",
                    "text": "Huurachterstand besproken; de woningcorporatie biedt een "
                    "betalingsregeling aan.",
                },
                {
                    "life_domain": "mental_health",
                    "sensitivity": "special",
                    "text": "Moeder is in behandeling; de behandelaar sluit bij het plan aan.",
                },
            ],
            "decisions": [{"code": "draw_up_plan"}],
        },
        expect=201,
    )
    released: dict[str, dict[str, bool]] = {}
    for partner in invitees:
        minutes = actors[partner].call("GET", f"{items}/minutes", purpose)
        released[partner] = {
            p["life_domain"]: p["released"] for p in minutes["parts"] if p["kind"] == "minutes"
        }
    return {"id": meeting["id"], "item": item["id"], "released": released}


def _briefings(
    ctx: HubContext, actors: dict[str, Actor], cid: str, purpose: str, result: DemoResult
) -> dict[str, Any]:
    """Each partner's briefing, plus the narrator's account of what it withholds and why."""
    out: dict[str, Any] = {}
    for partner, actor in actors.items():
        briefing = actor.call("GET", f"/cases/{cid}/briefing", purpose)
        shown = {f["id"]: f for d in briefing["domains"] for f in d["facts"]}
        reasons = _why_not(ctx, actor, cid, purpose, result)
        rows = []
        for label, fact_id in result.fact_ids.items():
            fact = shown.get(fact_id)
            if fact is None:
                rows.append(
                    {
                        "fact": label,
                        "level": "none",
                        "fields": [],
                        "withheld": "alles",
                        "reason": reasons.get(fact_id, ""),
                    }
                )
            else:
                rows.append(
                    {
                        "fact": label,
                        "level": fact["level"],
                        "fields": sorted(fact["fields"]),
                        "withheld": fact["withheld_fields"],
                        "reason": fact["reason"],
                    }
                )
        existence = [
            f"{e['publisher_kind']} heeft informatie over {e['life_domain']}"
            for d in briefing["domains"]
            for e in d["existence"]
        ]
        out[partner] = {
            "subjects": _who(actor, cid, purpose),
            "log_seq": briefing["log_seq"],
            "facts": rows,
            "existence": existence,
            "policy_version": briefing["policy_version"],
        }
    return out


def _who(actor: Actor, cid: str, purpose: str) -> dict[str, Any]:
    """Who the case is about as this partner may see it: per subject the name, date of birth
    and BSN, or NOT_SHARED where the policy's identity decision withholds them."""
    case = actor.call("GET", f"/cases/{cid}", purpose)
    return {
        "subjects": {
            s["role_in_case"]: {
                field: NOT_SHARED
                if field in s["withheld"]
                else (s[field] if s[field] is not None else NOT_REGISTERED)
                for field in ("name", "date_of_birth", "bsn")
            }
            for s in case["subjects"]
        },
        "reason": case["identity"]["reason"],
    }


def _why_not(
    ctx: HubContext, actor: Actor, cid: str, purpose: str, result: DemoResult
) -> dict[str, str]:
    """The policy's reasons for facts a partner does not see, from metadata only (asked
    through the gate, like every decision; nothing is opened)."""
    viewer = Viewer(
        partner=actor.partner,
        partner_kind=ctx.registry.partners[actor.partner].kind,
        user=actor.user,
        roles=frozenset(Role(r) for r in actor.roles),
        purpose=Purpose(purpose),
        request=RequestInfo(source="demo", purpose=Purpose(purpose)),
    )
    with ctx.unit_of_work() as session:
        case = ctx.gate.load_case(session, viewer, cid)
        repo = FactRepository(session)
        facts = [f for f in (repo.get(i) for i in result.fact_ids.values()) if f is not None]
        return ctx.gate.explain_facts(session, viewer, ctx.gate.case_input(session, case), facts)


def _log_summary(ctx: HubContext, auditor: Actor, cid: str) -> dict[str, Any]:
    page = auditor.call("GET", f"/audit/entries?case_id={cid}&limit=1000", "audit")
    actions = Counter(e["action"] for e in page["entries"])
    disclosures = sum(
        len(e["disclosed"]) for e in page["entries"] if e["action"] == "briefing.read"
    )
    checkpoint = auditor.call("POST", "/audit/checkpoints", "audit")
    report = ctx.audit.verify_live()
    return {
        "case_entries": len(page["entries"]),
        "actions": dict(sorted(actions.items())),
        "facts_disclosed_in_briefings": disclosures,
        "checkpoint": {"tree_size": checkpoint["tree_size"], "root": checkpoint["root_hash"]},
        "verification": report.to_json(),
        "verifier_key": ctx.log.signer.verifier_key,
    }


def _access_reports(auditor: Actor) -> dict[str, Any]:
    """Each parent's access report (AVG art. 15), as the person would get it: what was done
    with information about them, and nothing about the other parent's own facts."""
    out: dict[str, Any] = {}
    for role, identifiers in REPORT_IDENTIFIERS.items():
        lines = auditor.lines("/audit/subject-access-reports", "subject_access", identifiers)
        acts = [line for line in lines if line["type"] == "act"]
        summary = next(line for line in lines if line["type"] == "summary")
        kinds = sorted({x["information"] for a in acts for x in a["lines"] if x["information"]})
        reads = [x["text"] for a in acts for x in a["lines"] if x["level"] == "samenvatting"]
        if lines[-1]["type"] != "end":
            raise DemoFailed(f"the access report of the {role} is incomplete")
        out[role] = {
            "acts": len(acts),
            "lines": summary["lines"],
            "kinds_of_information": kinds,
            "recipients": summary["recipients"],
            "example": reads[0] if reads else "",
        }
    return out
