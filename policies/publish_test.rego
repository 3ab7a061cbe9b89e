# Tests of vhhub.publish: data minimisation at the source.
package vhhub.publish_test

import rego.v1

import data.vhhub.fixtures_test as fx
import data.vhhub.publish

publish_decision(viewer, purpose, table, phase, type) := d if {
	d := publish.decision with input as fx.publish_input(viewer, purpose, table, phase, type)
}

allowed(viewer, purpose, table, phase, type) if publish_decision(viewer, purpose, table, phase, type).allowed == true

test_police_may_publish_an_incident_at_the_case_conference if {
	allowed(fx.participant("politie"), "case_conference", "adults", "case_conference", "police.incident/1")
}

test_housing_may_not_publish_police_incidents if {
	d := publish_decision(fx.participant("woonstede"), "case_conference", "multi_problem", "case_conference", "police.incident/1")
	d.allowed == false
	d.reason == "This partner kind may not publish this fact type at this table in this phase (data minimisation)."
}

test_any_partner_kind_may_publish_an_involvement_signal_in_screening if {
	every partner in ["woonstede", "mw", "ggz", "politie", "zvh"] {
		allowed(fx.participant(partner), "screening", "youth", "screening", "network.involvement_signal/1")
	}
}

test_only_involvement_signals_are_published_during_screening if {
	d := publish_decision(fx.participant("politie"), "screening", "youth", "screening", "police.incident/1")
	d.allowed == false
}

test_registering_partner_may_publish_during_intake if {
	inp := fx.publish_input(fx.participant("buiten"), "intake", "youth", "intake", "network.involvement_signal/1")
	registered := object.union(inp, {"case": object.union(inp.case, {"registered_by": "buiten"})})
	d := publish.decision with input as registered
	d.allowed == true
}

test_registering_partner_may_not_publish_after_intake if {
	inp := fx.publish_input(fx.participant("buiten"), "screening", "youth", "screening", "network.involvement_signal/1")
	registered := object.union(inp, {"case": object.union(inp.case, {"registered_by": "buiten"})})
	d := publish.decision with input as registered
	d.allowed == false
}

test_partner_outside_the_case_may_not_publish if {
	d := publish_decision(fx.participant("buiten"), "case_conference", "multi_problem", "case_conference", "housing.eviction/1")
	d.allowed == false
	d.reason == "Only a participant of the case (or the partner registering it, during intake) may publish into it."
}

test_publishing_needs_the_publisher_role if {
	d := publish_decision(fx.viewer("politie", ["participant"]), "case_conference", "adults", "case_conference", "police.incident/1")
	d.allowed == false
	d.reason == "Publishing needs the publisher role."
}

test_nothing_is_published_into_a_closed_case if {
	d := publish_decision(fx.participant("politie"), "execution", "adults", "closed", "police.incident/1")
	d.allowed == false
}

test_a_relabelled_sensitivity_is_refused if {
	inp := fx.publish_input(fx.participant("politie"), "case_conference", "adults", "case_conference", "police.incident/1")
	relabelled := object.union(inp, {"fact": {"type": "police.incident/1", "domain": "safety", "sensitivity": "ordinary"}})
	d := publish.decision with input as relabelled
	d.allowed == false
}

test_school_attendance_is_not_published_at_the_adults_table if {
	not allowed(fx.participant("gemeente-wi"), "case_conference", "adults", "case_conference", "municipality.school_attendance/1")
	allowed(fx.participant("gemeente-wi"), "case_conference", "youth", "case_conference", "municipality.school_attendance/1")
}

test_publishing_purpose_must_fit_the_phase if {
	d := publish_decision(fx.participant("politie"), "plan", "adults", "case_conference", "police.incident/1")
	d.allowed == false
	d.reason == "The stated purpose does not fit the case's current phase."
}

test_audit_purpose_cannot_publish if {
	not allowed(fx.participant("politie"), "audit", "adults", "case_conference", "police.incident/1")
}

test_housing_publishes_at_the_youth_table_only_from_the_case_conference if {
	not allowed(fx.participant("woonstede"), "preparation", "youth", "preparation", "housing.eviction/1")
	allowed(fx.participant("woonstede"), "plan", "youth", "plan", "housing.eviction/1")
}

test_veilig_thuis_publishes_its_report_at_the_domestic_violence_table if {
	allowed(fx.participant("veilig-thuis"), "intake", "domestic_violence", "intake", "veilig_thuis.report/1")
}
