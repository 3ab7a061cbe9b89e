# Tests of vhhub.disclosure: each test name states the promise it checks.
package vhhub.disclosure_test

import rego.v1

import data.vhhub.disclosure
import data.vhhub.fixtures_test as fx

decide(viewer, purpose, table, phase) := d if {
	d := disclosure.decisions with input as fx.decision_input(viewer, purpose, table, phase)
}

conference(partner, table) := decide(fx.participant(partner), "case_conference", table, "case_conference")

# --- participants at the case conference: need to know per partner kind --------------------

test_housing_sees_housing_finances_and_safety_in_full_at_the_multi_problem_conference if {
	d := conference("woonstede", "multi_problem")
	d.income.level == "full"
	d.complaint.level == "full"
	d.income.fields == ["assessment_date", "debt_assistance_status", "total_debt_bracket"]
	d.income.rule == "matrix_grant"
}

test_housing_sees_a_police_nuisance_report_as_summary_because_the_police_published_it if {
	d := conference("woonstede", "multi_problem")
	d.nuisance.level == "summary"
	d.nuisance.rule == "criminal_data_outside_justice_chain"
	d.nuisance.fields == ["nuisance_category", "report_date"]
}

test_housing_sees_other_life_domains_as_summary_only if {
	d := conference("woonstede", "multi_problem")
	d.school.level == "summary"
	d.school.fields == ["attendance_status", "reference_date"]
	d.social_work.level == "summary"
	d.ggz.level == "summary"
}

test_housing_sees_police_incidents_only_as_summary_without_category_or_role if {
	d := conference("woonstede", "multi_problem")
	d.incident.level == "summary"
	d.incident.rule == "criminal_data_outside_justice_chain"
	d.incident.fields == ["incident_date"]
	contains(d.incident.reason, "incident_category, subject_role.")
}

test_social_work_with_a_care_task_sees_the_incident_category_and_role_in_its_summary if {
	d := conference("mw", "multi_problem")
	d.incident.level == "summary"
	d.incident.fields == ["incident_category", "incident_date", "subject_role"]
	not contains(d.incident.reason, "Left out")
}

test_police_never_sees_ggz_diagnosis if {
	every table in ["youth", "adults", "domestic_violence", "multi_problem"] {
		d := conference("politie", table)
		d.ggz.level in {"none", "existence", "summary"}
		count({"diagnosis", "treatment_details"} & {f | some f in d.ggz.fields}) == 0
	}
}

test_police_gets_veilig_thuis_report_as_summary_unless_shareable if {
	d := conference("politie", "domestic_violence")
	d.vt_report.level == "summary"
	d.vt_report.rule == "special_category_withheld"
}

test_police_gets_shareable_veilig_thuis_report_in_full if {
	shared := object.union(fx.facts, {"vt_report": object.union(fx.facts.vt_report, {"shareable": true})})
	inp := fx.decision_input_with(fx.participant("politie"), "case_conference", "domestic_violence", "case_conference", shared)
	d := disclosure.decisions with input as inp
	d.vt_report.level == "full"
	d.vt_report.fields == ["follow_up", "report_date", "report_type", "risk_assessment"]
}

test_prosecution_gets_special_category_data_as_summary_at_most if {
	d := conference("om", "domestic_violence")
	d.vt_report.level == "summary"
	d.vt_report.rule == "special_category_withheld"
	d.rvdk.level == "summary"
}

test_veilig_thuis_sees_its_own_domains_in_full_but_not_criminal_data if {
	d := conference("veilig-thuis", "domestic_violence")
	d.rvdk.level == "full"
	not "findings" in d.rvdk.fields
	d.nuisance.level == "summary"
	d.nuisance.rule == "criminal_data_outside_justice_chain"
	d.incident.level == "summary"
	d.incident.rule == "criminal_data_outside_justice_chain"
}

test_child_protection_in_the_justice_chain_sees_police_incidents_in_full if {
	d := conference("rvdk", "youth")
	d.incident.level == "full"
	d.incident.fields == ["description", "incident_category", "incident_date", "subject_role"]
}

test_probation_sees_prosecution_status_in_full_at_the_adults_table if {
	d := conference("reclassering", "adults")
	d.case_status.level == "full"
	d.case_status.fields == ["offence_category", "status", "status_date"]
	d.detention.level == "full"
}

test_custodial_sees_justice_in_full_at_the_adults_table if {
	d := conference("dji", "adults")
	d.case_status.level == "full"
	d.income.level == "summary"
}

test_municipality_sees_police_incidents_only_as_summary if {
	d := conference("gemeente-wi", "adults")
	d.incident.level == "summary"
	d.case_status.level == "summary"
	d.eviction.level == "full"
}

test_mental_health_sees_ggz_facts_in_full_without_diagnosis if {
	d := conference("ggz-2", "adults")
	d.ggz.level == "full"
	d.ggz.fields == ["care_setting", "care_status", "crisis_plan", "since"]
}

test_youth_care_sees_school_attendance_in_full_by_fact_type if {
	d := conference("jeugdzorg", "youth")
	d.school.level == "full"
	d.school.rule == "matrix_grant"
	d.youth_care.level == "full"
	d.income.level == "summary"
}

test_social_work_sees_finances_in_full_and_housing_as_summary if {
	d := conference("mw", "multi_problem")
	d.income.level == "full"
	d.eviction.level == "summary"
}

test_flexible_shell_partner_gets_summaries_at_the_youth_conference if {
	d := conference("woonstede", "youth")
	d.nuisance.level == "summary"
	d.income.level == "summary"
}

test_zvh_staff_participant_learns_only_existence if {
	d := conference("zvh", "multi_problem")
	d.income.level == "existence"
	d.income.fields == []
}

test_reason_names_table_phase_row_and_profile if {
	d := conference("woonstede", "multi_problem")
	d.income.reason == "At the multi_problem table in the case_conference phase the disclosure matrix gives housing full on finances facts (profile housing_needs)."
}

# --- the publisher's own facts ---------------------------------------------------------------

test_publisher_sees_own_facts_in_full_including_never_shared_fields if {
	d := conference("politie", "adults")
	d.incident.level == "full"
	d.incident.rule == "publisher_sees_own"
	"victim_details" in d.incident.fields
	"registration_reference" in d.incident.fields
}

test_publisher_sees_own_facts_during_intake if {
	d := decide(fx.participant("politie"), "intake", "youth", "intake")
	d.incident.level == "full"
	d.nuisance.level == "full"
	d.income.level == "none"
}

test_ggz_sees_its_own_diagnosis if {
	d := conference("ggz", "multi_problem")
	"diagnosis" in d.ggz.fields
}

# --- who belongs to the case -----------------------------------------------------------------

test_partner_outside_the_case_sees_nothing if {
	d := conference("buiten", "multi_problem")
	every id, decision in d {
		decision.level == "none"
		decision.rule == "not_a_participant"
	}
}

test_only_named_users_of_a_partner_see_the_case if {
	other_user := object.union(fx.participant("woonstede"), {"user": "u-2"})
	d := decide(other_user, "case_conference", "multi_problem", "case_conference")
	d.eviction.level == "none"
	d.eviction.rule == "not_a_participant"
}

test_invited_partner_without_participant_role_sees_nothing if {
	d := decide(fx.viewer("politie", ["privacy_officer"]), "case_conference", "multi_problem", "case_conference")
	d.incident.level == "none"
	d.income.level == "none"
}

test_privacy_officer_sees_no_case_content_in_any_phase if {
	every phase in ["intake", "screening", "preparation", "case_conference", "plan", "execution", "closed"] {
		every purpose in ["policy_review", "audit", phase] {
			d := decide(fx.privacy_officer, purpose, "multi_problem", phase)
			every decision in d {
				decision.level == "none"
			}
		}
	}
}

test_privacy_officer_with_policy_review_purpose_gets_none_everywhere if {
	d := decide(fx.privacy_officer, "policy_review", "adults", "case_conference")
	every id, decision in d {
		decision.level == "none"
	}
}

test_procesregisseur_of_another_case_sees_nothing if {
	stranger := object.union(fx.procesregisseur, {"user": "u-99"})
	d := decide(stranger, "screening", "youth", "screening")
	d.incident.level == "none"
}

test_every_fact_gets_a_decision if {
	d := conference("woonstede", "multi_problem")
	count(d) == count(fx.facts)
}

test_empty_batch_gives_empty_decisions if {
	inp := fx.decision_input_with(fx.participant("politie"), "case_conference", "youth", "case_conference", {})
	d := disclosure.decisions with input as inp
	d == {}
}

# --- phases and purposes ---------------------------------------------------------------------

test_procesregisseur_sees_existence_of_registered_facts_in_intake if {
	d := decide(fx.procesregisseur, "intake", "adults", "intake")
	d.incident.level == "existence"
	d.incident.fields == []
}

test_procesregisseur_learns_only_existence_in_screening if {
	d := decide(fx.procesregisseur, "screening", "youth", "screening")
	every id, decision in d {
		decision.level == "existence"
		decision.fields == []
	}
}

test_participants_see_nothing_of_others_in_screening if {
	d := decide(fx.participant("woonstede"), "screening", "multi_problem", "screening")
	d.incident.level == "none"
	d.eviction.level == "full"
}

test_table_members_get_summaries_in_preparation if {
	d := decide(fx.participant("jeugdzorg"), "preparation", "youth", "preparation")
	d.nuisance.level == "summary"
	d.school.level == "summary"
	d.nuisance.fields == ["nuisance_category", "report_date"]
}

test_flexible_shell_learns_only_existence_in_preparation if {
	d := decide(fx.participant("woonstede"), "preparation", "domestic_violence", "preparation")
	d.nuisance.level == "existence"
}

test_procesregisseur_gets_summaries_at_the_case_conference if {
	d := decide(fx.procesregisseur, "case_conference", "domestic_violence", "case_conference")
	d.vt_report.level == "summary"
	d.incident.level == "summary"
}

test_casusregisseur_gets_summaries_in_the_plan_phase if {
	d := decide(fx.casusregisseur, "plan", "multi_problem", "plan")
	d.ggz.level == "summary"
	d.incident.level == "summary"
}

test_casusregisseur_who_participates_gets_the_higher_of_both_rows if {
	both := object.union(fx.casusregisseur, {"roles": ["casusregisseur", "participant"]})
	d := decide(both, "plan", "multi_problem", "plan")
	d.eviction.level == "full"
	d.ggz.level == "summary"
}

test_participants_get_their_needs_in_the_plan_phase if {
	d := decide(fx.participant("woonstede"), "plan", "adults", "plan")
	d.income.level == "full"
}

test_execution_phase_gives_table_members_summaries if {
	d := decide(fx.participant("woonstede"), "execution", "multi_problem", "execution")
	d.income.level == "summary"
	d.income.fields == ["assessment_date", "debt_assistance_status"]
}

test_purpose_must_fit_the_phase if {
	d := decide(fx.participant("woonstede"), "case_conference", "multi_problem", "preparation")
	every id, decision in d {
		decision.level == "none"
		decision.rule == "purpose_does_not_fit_phase"
	}
}

test_participant_with_audit_purpose_sees_nothing if {
	d := decide(fx.participant("woonstede"), "audit", "multi_problem", "case_conference")
	d.eviction.level == "none"
	d.income.level == "none"
}

# --- closing and auditing --------------------------------------------------------------------

test_closed_case_shows_nothing_to_participants if {
	d := decide(fx.participant("woonstede"), "execution", "multi_problem", "closed")
	every id, decision in d {
		decision.level == "none"
		decision.rule == "case_closed_withheld"
	}
}

test_closed_case_shows_nothing_to_the_publisher_either if {
	d := decide(fx.participant("politie"), "execution", "youth", "closed")
	d.incident.level == "none"
}

test_auditor_sees_only_existence_in_a_closed_case if {
	d := decide(fx.auditor, "audit", "domestic_violence", "closed")
	every id, decision in d {
		decision.level == "existence"
		decision.fields == []
	}
}

test_auditor_sees_no_fact_content_in_an_open_case if {
	d := decide(fx.auditor, "audit", "adults", "case_conference")
	every id, decision in d {
		decision.level == "existence"
	}
}

test_auditor_who_participates_still_sees_only_existence_when_auditing if {
	both := fx.viewer("woonstede", ["participant", "auditor"])
	d := decide(both, "audit", "multi_problem", "case_conference")
	d.eviction.level == "existence"
	d.eviction.fields == []
	d.income.level == "existence"
}

test_audit_cap_holds_even_if_the_matrix_grants_more if {
	generous := {"multi_problem": {"auditor": {"case_conference": {"audit": "summary_all"}}}}
	d := decide(fx.auditor, "audit", "multi_problem", "case_conference") with data.vhhub.matrix as generous
	d.income.level == "existence"
	d.income.rule == "auditor_sees_existence_only"
}

test_auditor_with_a_case_work_purpose_sees_nothing if {
	d := decide(fx.auditor, "case_conference", "adults", "case_conference")
	d.income.level == "none"
}

# --- fail closed -----------------------------------------------------------------------------

test_unknown_fact_type_is_withheld if {
	unknown := object.union(fx.facts.income, {"type": "municipality.unknown/9"})
	inp := fx.decision_input_with(fx.participant("politie"), "case_conference", "youth", "case_conference", {"x": unknown})
	d := disclosure.decisions with input as inp
	d.x.level == "none"
	d.x.rule == "fact_not_in_catalogue"
}

test_relabelled_sensitivity_is_withheld if {
	relabelled := object.union(fx.facts.incident, {"sensitivity": "ordinary", "publisher": "om"})
	inp := fx.decision_input_with(fx.participant("woonstede"), "case_conference", "multi_problem", "case_conference", {"x": relabelled})
	d := disclosure.decisions with input as inp
	d.x.level == "none"
}

test_involvement_signal_takes_its_domain_from_the_fact if {
	d := conference("reclassering", "adults")
	d.signal.level == "full"
	d.signal.fields == ["contact_point", "domain", "since"]
}

test_involvement_signal_with_unknown_domain_is_withheld if {
	odd := object.union(fx.facts.signal, {"domain": "astrology"})
	inp := fx.decision_input_with(fx.participant("reclassering"), "case_conference", "adults", "case_conference", {"x": odd})
	d := disclosure.decisions with input as inp
	d.x.rule == "fact_not_in_catalogue"
}

test_unknown_table_withholds_everything if {
	d := decide(fx.participant("woonstede"), "case_conference", "cooking", "case_conference")
	d.eviction.level == "none"
	d.eviction.rule == "unknown_case_context"
}

test_never_shared_field_stays_withheld_even_when_marked_full if {
	leaky := fx.with_fields(fx.facts.ggz, {"since": "summary", "diagnosis": "full"})
	inp := fx.decision_input_with(fx.participant("ggz-2"), "case_conference", "adults", "case_conference", {"x": leaky})
	d := disclosure.decisions with input as inp
	d.x.level == "full"
	d.x.fields == ["since"]
}

test_unknown_field_class_is_never_released if {
	odd := fx.with_fields(fx.facts.income, {"assessment_date": "summary", "notes": "public"})
	inp := fx.decision_input_with(fx.participant("woonstede"), "case_conference", "multi_problem", "case_conference", {"x": odd})
	d := disclosure.decisions with input as inp
	d.x.fields == ["assessment_date"]
}

# --- the caseload purpose shows no fact content, not even the viewer's own ---------------------

test_the_caseload_purpose_shows_no_fact_content_not_even_own_facts if {
	d := decide(fx.participant("politie"), "case_management", "multi_problem", "case_conference")
	every id, decision in d {
		decision.level == "none"
		decision.fields == []
	}
	d.incident.rule == "matrix_grants_nothing"
}
