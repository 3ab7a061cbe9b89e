# Tests of plan text as the policy decides it (ADR 0007): every part of the integral analysis
# and the plan is a plan-note fact of its life domain and sensitivity, written by the
# casusregisseur's partner (or, for a monitoring note, by its reporter).
package vhhub.plan_notes_test

import rego.v1

import data.vhhub.disclosure
import data.vhhub.fixtures_test as fx
import data.vhhub.publish

note_fields := {"life_domain": "summary", "recorded_on": "summary", "text": "full"}

types := {"ordinary": "plan.note/1", "special": "plan.note_special/1", "criminal": "plan.note_criminal/1"}

note(domain, sensitivity, author) := fx.fact(types[sensitivity], domain, sensitivity, author, note_fields)

# The role play's analysis, written by the casusregisseur of gemeente-wi.
analysis := {
	"housing": note("housing", "ordinary", "gemeente-wi"),
	"safety": note("safety", "ordinary", "gemeente-wi"),
	"mental_health": note("mental_health", "special", "gemeente-wi"),
	"justice": note("justice", "criminal", "gemeente-wi"),
}

in_plan(viewer) := d if {
	d := disclosure.decisions with input as fx.decision_input_with(viewer, "plan", "multi_problem", "plan", analysis)
}

test_housing_reads_the_housing_analysis_but_not_the_mental_health_or_justice_text if {
	d := in_plan(fx.participant("woonstede"))
	d.housing.level == "full"
	"text" in d.housing.fields
	d.mental_health.level == "summary"
	d.mental_health.fields == ["life_domain", "recorded_on"]
	d.justice.level == "summary"
	not "text" in d.justice.fields
}

test_police_read_the_safety_and_justice_analysis_in_full if {
	d := in_plan(fx.participant("politie"))
	d.safety.fields == ["life_domain", "recorded_on", "text"]
	d.justice.fields == ["life_domain", "recorded_on", "text"]
	d.mental_health.level == "summary"
	d.housing.level == "summary"
}

test_special_plan_text_reaches_no_one_without_a_care_task_in_full if {
	d := in_plan(fx.participant("gemeente-wi"))
	d.mental_health.level == "full" # its own text: publisher_sees_own
	other := in_plan(fx.participant("woonstede"))
	other.mental_health.rule in {"matrix_grant", "special_category_outside_care_and_justice"}
	mh := disclosure.decisions with input as fx.decision_input_with(
		fx.participant("woonstede"), "plan", "multi_problem", "plan",
		{"x": note("housing", "special", "gemeente-wi")},
	)
	mh.x.level == "summary"
	mh.x.rule == "special_category_outside_care_and_justice"
}

test_plan_text_without_a_known_life_domain_is_withheld if {
	d := disclosure.decisions with input as fx.decision_input_with(
		fx.participant("politie"), "plan", "multi_problem", "plan",
		{"x": note("", "ordinary", "gemeente-wi")},
	)
	d.x.level == "none"
	d.x.rule == "fact_not_in_catalogue"
}

test_a_plan_note_labelled_below_its_type_is_withheld if {
	d := disclosure.decisions with input as fx.decision_input_with(
		fx.participant("woonstede"), "plan", "multi_problem", "plan",
		{"x": fx.fact("plan.note_special/1", "housing", "ordinary", "gemeente-wi", note_fields)},
	)
	d.x.level == "none"
}

test_no_partner_kind_may_publish_a_plan_note_in_any_phase if {
	every partner in ["politie", "om", "reclassering", "rvdk", "gemeente-wi", "ggz", "jeugdzorg", "woonstede", "mw", "veilig-thuis", "dji", "zvh"] {
		every phase in ["intake", "preparation", "case_conference", "plan", "execution"] {
			every type in ["plan.note/1", "plan.note_special/1", "plan.note_criminal/1"] {
				inp := {
					"viewer": fx.participant(partner),
					"purpose": phase,
					"case": object.union(fx.case_at("multi_problem", phase), {"registered_by": partner}),
					"fact": {"type": type, "domain": "housing", "sensitivity": data.vhhub.fact_types[type].sensitivity},
				}
				d := publish.decision with input as inp
				d.allowed == false
			}
		}
	}
}

# A GGZ casusregisseur writes for the table: its partner kind does not make every note health
# data (the plan-note types state their own sensitivity) ...
test_a_care_partners_casusregisseur_does_not_make_every_note_special if {
	d := disclosure.decisions with input as fx.decision_input_with(
		fx.participant("woonstede"), "plan", "multi_problem", "plan",
		{"x": note("housing", "ordinary", "ggz")},
	)
	d.x.level == "full"
	"text" in d.x.fields
}

# ... but a note written from a fact carries that fact's category: by its type, or by the kind
# of partner that published it (a GGZ signal is health data, a police report criminal data).
cited_note(cites) := object.union(note("housing", "ordinary", "gemeente-wi"), {"cites": cites})

test_a_note_written_from_care_data_is_special_category if {
	d := disclosure.decisions with input as fx.decision_input_with(
		fx.participant("woonstede"), "plan", "multi_problem", "plan",
		{
			"by_kind": cited_note([{"sensitivity": "ordinary", "publisher_kind": "mental_health"}]),
			"by_type": cited_note([{"sensitivity": "special", "publisher_kind": "municipality"}]),
			"plain": cited_note([{"sensitivity": "ordinary", "publisher_kind": "housing"}]),
		},
	)
	d.by_kind.rule == "special_category_outside_care_and_justice"
	d.by_type.rule == "special_category_outside_care_and_justice"
	not "text" in d.by_kind.fields
	not "text" in d.by_type.fields
	"text" in d.plain.fields
}

test_a_note_written_from_police_data_is_criminal_data if {
	d := disclosure.decisions with input as fx.decision_input_with(
		fx.participant("woonstede"), "plan", "multi_problem", "plan",
		{
			"by_kind": cited_note([{"sensitivity": "ordinary", "publisher_kind": "police"}]),
			"by_type": cited_note([{"sensitivity": "criminal", "publisher_kind": "municipality"}]),
		},
	)
	d.by_kind.rule == "criminal_data_outside_justice_chain"
	d.by_type.rule == "criminal_data_outside_justice_chain"
	not "text" in d.by_kind.fields
	not "text" in d.by_type.fields
}
