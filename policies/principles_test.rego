# The principles the policy always keeps (docs/privacy-officer.md, "Principles the policy
# always keeps"), each stated once as a property over every table, every open phase, every
# partner kind as viewer, and every fact type, published by every partner kind the publishing
# matrix lets publish it, on every life domain its type allows (an involvement signal: by
# every kind, on every domain). Each test restates its principle from the network data and the
# fact-type catalogue, not from the rules it checks, so a change to the rules or to the
# matrix that breaks a principle fails here whatever cell it touches.
package vhhub.principles_test

import rego.v1

import data.vhhub.disclosure
import data.vhhub.fixtures_test as fx

network := data.vhhub.network

tables := object.keys(network.tables)

# Every phase in which case work is done; a closed case shows nothing (tested elsewhere).
open_phases := {phase | some phase, _ in network.phases; phase != "closed"}

kinds := object.keys(network.partner_kinds)

life_domains := object.keys(network.life_domains)

# --- the facts: every type, from every partner kind that may publish it, on every domain ---

domains_of(entry) := life_domains if entry.domain == "*"

domains_of(entry) := {entry.domain} if entry.domain != "*"

# The kinds the publishing matrix lets publish a type at some table (any kind: a signal).
publishers_of(type) := kinds if data.vhhub.publishing.any_partner_kind[type]

publishers_of(type) := {kind |
	some by_kind in data.vhhub.publishing.by_table
	some kind, types in by_kind
	types[type]
} if not data.vhhub.publishing.any_partner_kind[type]

published := {id: fact |
	some type, entry in data.vhhub.fact_types
	some publisher_kind in publishers_of(type)
	some domain in domains_of(entry)
	id := concat("|", [type, publisher_kind, domain])
	fact := {
		"type": type,
		"domain": domain,
		"sensitivity": entry.sensitivity,
		"publisher": concat("-", ["publisher", publisher_kind]),
		"publisher_kind": publisher_kind,
		"shareable": false,
		"fields": fx.facts_by_type[type].fields,
	}
}

# --- the viewer: an invited participant of `kind`, working on the case for the phase -------

viewer(kind) := {"partner": "viewer", "partner_kind": kind, "user": "u-1", "roles": ["participant"]}

decide(kind, table, phase, facts) := decisions if {
	decisions := disclosure.decisions with input as {
		"viewer": viewer(kind),
		"purpose": phase,
		"case": object.union(fx.case_at(table, phase), {"participants": {"viewer": {"users": []}}}),
		"facts": facts,
	}
}

rank(decision) := network.level_rank[decision.level]

# --- the principles, restated from the data --------------------------------------------

# AVG art. 9: what a fact reveals makes it special-category data -- its type, or that a care
# partner (or the child protection board) published it -- never the life domain it is filed under.
special(fact) if data.vhhub.fact_types[fact.type].sensitivity == "special"

special(fact) if network.publisher_default_sensitivity[fact.publisher_kind] == "special"

# AVG art. 10: what the police, the OM, probation or DJI register is criminal-law data.
criminal(fact) if data.vhhub.fact_types[fact.type].sensitivity == "criminal"

criminal(fact) if network.publisher_default_sensitivity[fact.publisher_kind] == "criminal"

care_or_justice_task(kind) if network.care_kinds[kind]

care_or_justice_task(kind) if network.justice_kinds[kind]

# UAVG art. 30: health data beyond a summary only for care, and for the justice partners whose
# statutory task needs it (probation, the child protection board, DJI) -- not police or OM.
may_see_special_data_in_full(kind) if {
	care_or_justice_task(kind)
	not network.special_category_capped_kinds[kind]
}

special_facts := {id: fact | some id, fact in published; special(fact)}

criminal_facts := {id: fact | some id, fact in published; criminal(fact)}

revealing_facts := {id: fact |
	some id, fact in published
	count(data.vhhub.fact_types[fact.type].reveals) > 0
}

# --- the properties ------------------------------------------------------------------------

test_special_category_data_depends_on_type_and_publisher_never_on_the_domain if {
	# the generated facts hold what the issue found: a GGZ signal on safety, a VT report
	special_facts["network.involvement_signal/1|mental_health|safety"]
	special_facts["veilig_thuis.report/1|veilig_thuis|safety"]
	capped := {kind | some kind in kinds; not may_see_special_data_in_full(kind)}
	capped == {"police", "prosecution", "municipality", "housing", "zvh_staff"}
	every table in tables {
		every phase in open_phases {
			every kind in capped {
				every decision in decide(kind, table, phase, special_facts) {
					rank(decision) <= network.level_rank.summary
				}
			}
		}
	}
}

test_criminal_data_depends_on_type_and_publisher_never_on_the_domain if {
	criminal_facts["police.nuisance_report/1|police|safety"]
	criminal_facts["network.involvement_signal/1|police|housing"]
	outside := {kind | some kind in kinds; not network.justice_kinds[kind]}
	count(outside) == 7
	every table in tables {
		every phase in open_phases {
			every kind in outside {
				every decision in decide(kind, table, phase, criminal_facts) {
					rank(decision) <= network.level_rank.summary
				}
			}
		}
	}
}

test_summaries_for_partners_without_care_or_justice_task_reveal_no_diagnosis_offence_or_role if {
	count(revealing_facts) > 0
	without_task := {kind | some kind in kinds; not care_or_justice_task(kind)}
	without_task == {"municipality", "housing", "zvh_staff"}
	every table in tables {
		every phase in open_phases {
			every kind in without_task {
				every id, decision in decide(kind, table, phase, revealing_facts) {
					not summary_reveals(revealing_facts[id], decision)
				}
			}
		}
	}
}

summary_reveals(fact, decision) if {
	decision.level == "summary"
	some field in decision.fields
	data.vhhub.fact_types[fact.type].reveals[field]
}

test_summaries_for_partners_with_a_care_or_justice_task_keep_what_they_need if {
	with_task := {kind | some kind in kinds; care_or_justice_task(kind)}
	count(with_task) == 9
	every table in tables {
		every phase in open_phases {
			every kind in with_task {
				every id, decision in decide(kind, table, phase, revealing_facts) {
					summary_keeps_revealing_fields(revealing_facts[id], decision)
				}
			}
		}
	}
}

summary_keeps_revealing_fields(_, decision) if decision.level != "summary"

summary_keeps_revealing_fields(fact, decision) if {
	decision.level == "summary"
	every field, _ in data.vhhub.fact_types[fact.type].reveals {
		field in decision.fields
	}
}

# --- the cases the issue found, through the same builders ----------------------------------

test_a_ggz_involvement_signal_on_safety_reaches_police_and_om_as_summary_only if {
	signal := {"s": published["network.involvement_signal/1|mental_health|safety"]}
	every kind in ["police", "prosecution"] {
		d := decide(kind, "domestic_violence", "case_conference", signal)
		d.s.level == "summary"
		d.s.rule == "special_category_withheld"
	}
	# the matrix alone would give full: safety is a police and OM need
	d := decide("police", "domestic_violence", "case_conference", signal) with data.vhhub.network.publisher_default_sensitivity as {}
	d.s.level == "full"
}

test_a_veilig_thuis_report_reaches_housing_as_summary_only_in_the_plan_phase if {
	report := {"r": published["veilig_thuis.report/1|veilig_thuis|safety"]}
	every table in tables {
		d := decide("housing", table, "plan", report)
		d.r.level in {"none", "existence", "summary"}
		not "report_type" in d.r.fields
	}
	d := decide("housing", "multi_problem", "plan", report)
	d.r.level == "summary"
	d.r.rule == "special_category_outside_care_and_justice"
	d.r.fields == ["report_date", "risk_assessment"]
}

test_housing_sees_no_offence_category_or_role_in_a_police_incident_summary if {
	incident := {"i": published["police.incident/1|police|safety"]}
	every phase in open_phases {
		d := decide("housing", "multi_problem", phase, incident)
		d.i.level in {"none", "existence", "summary"}
		count({"incident_category", "subject_role"} & {f | some f in d.i.fields}) == 0
	}
	d := decide("housing", "multi_problem", "case_conference", incident)
	d.i.fields == ["incident_date"]
}

test_a_shareable_veilig_thuis_report_reaches_housing_in_full if {
	report := object.union(published["veilig_thuis.report/1|veilig_thuis|safety"], {"shareable": true})
	d := decide("housing", "multi_problem", "plan", {"r": report})
	d.r.level == "full"
	"report_type" in d.r.fields
}
