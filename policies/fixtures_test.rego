# Builders shared by the policy tests: a network of one partner per kind, a case at any
# table and phase, and one sample fact per fact type (fields as in schemas/: a subset of each
# type's fields with their classes, always including the fields the type reveals, which
# tests/rego/test_policy_data.py checks against the schemas).
package vhhub.fixtures_test

import rego.v1

kinds := {
	"politie": "police",
	"om": "prosecution",
	"reclassering": "probation",
	"rvdk": "child_protection",
	"gemeente-wi": "municipality",
	"ggz": "mental_health",
	"ggz-2": "mental_health",
	"jeugdzorg": "youth_care",
	"woonstede": "housing",
	"mw": "social_work",
	"veilig-thuis": "veilig_thuis",
	"dji": "custodial",
	"zvh": "zvh_staff",
	"buiten": "housing",
}

# A viewer acting for `partner` with `roles`, as user u-1.
viewer(partner, roles) := {"partner": partner, "partner_kind": kinds[partner], "user": "u-1", "roles": roles}

participant(partner) := viewer(partner, ["participant", "publisher"])

procesregisseur := {"partner": "zvh", "partner_kind": "zvh_staff", "user": "u-1", "roles": ["procesregisseur"]}

casusregisseur := {"partner": "gemeente-wi", "partner_kind": "municipality", "user": "u-4", "roles": ["casusregisseur"]}

auditor := {"partner": "gemeente-wi", "partner_kind": "municipality", "user": "u-7", "roles": ["auditor"]}

privacy_officer := {"partner": "politie", "partner_kind": "police", "user": "u-8", "roles": ["privacy_officer"]}

# Every partner but "buiten" is invited; woonstede only with its user u-1.
case_at(table, phase) := {
	"id": "c-1",
	"table": table,
	"phase": phase,
	"kind": "family",
	"participants": {
		"politie": {"users": []},
		"om": {"users": []},
		"reclassering": {"users": []},
		"rvdk": {"users": []},
		"gemeente-wi": {"users": []},
		"ggz": {"users": []},
		"ggz-2": {"users": []},
		"jeugdzorg": {"users": []},
		"woonstede": {"users": ["u-1"]},
		"mw": {"users": []},
		"veilig-thuis": {"users": []},
		"dji": {"users": []},
		"zvh": {"users": []},
	},
	"procesregisseur": {"partner": "zvh", "user": "u-1"},
	"casusregisseur": {"partner": "gemeente-wi", "user": "u-4"},
}

fact(type, domain, sensitivity, publisher, fields) := {
	"type": type,
	"domain": domain,
	"sensitivity": sensitivity,
	"publisher": publisher,
	"publisher_kind": kinds[publisher],
	"shareable": false,
	"fields": fields,
}

facts := {
	"incident": fact("police.incident/1", "safety", "criminal", "politie", {
		"incident_date": "summary", "incident_category": "summary", "subject_role": "summary",
		"description": "full", "victim_details": "never", "registration_reference": "never",
	}),
	"nuisance": fact("police.nuisance_report/1", "safety", "ordinary", "politie", {
		"report_date": "summary", "nuisance_category": "summary", "description": "full", "reporter_details": "never",
	}),
	"case_status": fact("prosecution.case_status/1", "justice", "criminal", "om", {
		"status_date": "summary", "status": "summary", "offence_category": "full", "case_number": "never",
	}),
	"supervision": fact("probation.supervision/1", "justice", "criminal", "reclassering", {
		"start_date": "summary", "supervision_type": "summary", "risk_level": "full", "risk_assessment_details": "never",
	}),
	"rvdk": fact("child_protection.investigation/1", "parenting", "special", "rvdk", {
		"start_date": "summary", "investigation_type": "summary", "status": "full", "findings": "never",
	}),
	"income": fact("municipality.income_debt/1", "finances", "ordinary", "gemeente-wi", {
		"assessment_date": "summary", "debt_assistance_status": "summary", "total_debt_bracket": "full", "case_reference": "never",
	}),
	"school": fact("municipality.school_attendance/1", "work_daytime", "ordinary", "gemeente-wi", {
		"reference_date": "summary", "attendance_status": "summary", "unexcused_absence_hours": "full",
	}),
	"arrears": fact("housing.rent_arrears/1", "finances", "ordinary", "woonstede", {
		"reference_date": "summary", "arrears_stage": "summary", "arrears_amount_eur": "full", "tenancy_reference": "never",
	}),
	"complaint": fact("housing.nuisance_complaint/1", "housing", "ordinary", "woonstede", {
		"complaint_date": "summary", "complaint_category": "summary", "description": "full", "complainant_details": "never",
	}),
	"eviction": fact("housing.eviction/1", "housing", "ordinary", "woonstede", {
		"stage_date": "summary", "stage": "summary", "eviction_date": "full", "case_reference": "never",
	}),
	"ggz": fact("mental_health.involvement/1", "mental_health", "special", "ggz", {
		"since": "summary", "care_status": "summary", "care_setting": "full", "crisis_plan": "full",
		"diagnosis": "never", "treatment_details": "never",
	}),
	"youth_care": fact("youth_care.involvement/1", "parenting", "special", "jeugdzorg", {
		"since": "summary", "care_status": "summary", "care_type": "full", "assessment_details": "never",
	}),
	"social_work": fact("social_work.involvement/1", "social_network", "ordinary", "mw", {
		"since": "summary", "support_status": "summary", "agreements": "full", "case_reference": "never",
	}),
	"vt_report": fact("veilig_thuis.report/1", "safety", "special", "veilig-thuis", {
		"report_date": "summary", "report_type": "summary", "risk_assessment": "summary",
		"follow_up": "full", "reporter_details": "never",
	}),
	"detention": fact("custodial.detention/1", "justice", "criminal", "dji", {
		"since": "summary", "facility_type": "summary", "expected_release_date": "full", "facility_location": "never",
	}),
	"signal": fact("network.involvement_signal/1", "addiction", "ordinary", "mw", {
		"since": "summary", "domain": "summary", "contact_point": "full", "internal_reference": "never",
	}),
}

# A decision input for `viewer` with `purpose` on a case at `table` in `phase`, all sample facts.
decision_input(viewer, purpose, table, phase) := {
	"viewer": viewer,
	"purpose": purpose,
	"case": case_at(table, phase),
	"facts": facts,
}

# The same with other facts (object.union would merge the fact maps, not replace them).
decision_input_with(viewer, purpose, table, phase, some_facts) := {
	"viewer": viewer,
	"purpose": purpose,
	"case": case_at(table, phase),
	"facts": some_facts,
}

# A fact with its fields replaced.
with_fields(fact, fields) := object.union(object.remove(fact, ["fields"]), {"fields": fields})

# A publish input: `viewer` publishes a fact of `type` (catalogue domain and sensitivity).
publish_input(viewer, purpose, table, phase, type) := {
	"viewer": viewer,
	"purpose": purpose,
	"case": case_at(table, phase),
	"fact": {"type": type, "domain": facts_by_type[type].domain, "sensitivity": facts_by_type[type].sensitivity},
}

facts_by_type := {f.type: f | some f in facts}

# An action input.
action_input(viewer, purpose, action, table, phase, target) := {
	"viewer": viewer,
	"purpose": purpose,
	"action": action,
	"case": case_at(table, phase),
	"target": target,
}
