# Tests of vhhub.actions: who may do what to a case.
package vhhub.actions_test

import rego.v1

import data.vhhub.actions
import data.vhhub.fixtures_test as fx

act(viewer, purpose, action, table, phase, target) := d if {
	d := actions.decision with input as fx.action_input(viewer, purpose, action, table, phase, target)
}

allowed(viewer, purpose, action, table, phase, target) if act(viewer, purpose, action, table, phase, target).allowed == true

no_case(viewer, purpose, action) := d if {
	d := actions.decision with input as {"viewer": viewer, "purpose": purpose, "action": action, "case": null, "target": null}
}

# --- intake, screening, triage ---------------------------------------------------------------

test_key_partner_registers_a_case if {
	d := no_case(fx.participant("politie"), "intake", "register_case")
	d.allowed == true
}

test_housing_and_social_work_may_not_register_cases if {
	no_case(fx.participant("woonstede"), "intake", "register_case").allowed == false
	no_case(fx.participant("mw"), "intake", "register_case").allowed == false
}

test_registering_needs_the_intake_purpose if {
	d := no_case(fx.participant("politie"), "screening", "register_case")
	d.allowed == false
}

test_veiligheidshuis_staff_takes_on_a_newly_registered_case if {
	newcomer := object.union(fx.procesregisseur, {"user": "u-3"})
	allowed(newcomer, "intake", "take_case", "adults", "intake", null)
}

test_a_case_is_taken_on_only_during_intake_and_only_by_veiligheidshuis_staff if {
	not allowed(fx.procesregisseur, "screening", "take_case", "adults", "screening", null)
	not allowed(fx.viewer("gemeente-wi", ["procesregisseur"]), "intake", "take_case", "adults", "intake", null)
}

unassigned_case(phase) := object.union(fx.case_at("adults", phase), {"procesregisseur": null})

queue_input(viewer, purpose, case) := {
	"viewer": viewer,
	"purpose": purpose,
	"action": "list_intake_queue",
	"case": case,
	"target": null,
}

test_any_procesregisseur_sees_the_intake_queue if {
	newcomer := object.union(fx.procesregisseur, {"user": "u-3"})
	d := actions.decision with input as queue_input(newcomer, "intake", unassigned_case("intake"))
	d.allowed == true
}

test_the_intake_queue_holds_only_unassigned_cases_at_intake if {
	newcomer := object.union(fx.procesregisseur, {"user": "u-3"})
	taken := actions.decision with input as queue_input(newcomer, "intake", fx.case_at("adults", "intake"))
	taken.allowed == false
	later := actions.decision with input as queue_input(newcomer, "screening", unassigned_case("screening"))
	later.allowed == false
}

test_only_veiligheidshuis_procesregisseurs_see_the_intake_queue if {
	municipality := fx.viewer("gemeente-wi", ["procesregisseur"])
	d := actions.decision with input as queue_input(municipality, "intake", unassigned_case("intake"))
	d.allowed == false
	police := actions.decision with input as queue_input(fx.participant("politie"), "intake", unassigned_case("intake"))
	police.allowed == false
}

test_the_intake_queue_serves_intake_and_screening_purposes_only if {
	newcomer := object.union(fx.procesregisseur, {"user": "u-3"})
	d := actions.decision with input as queue_input(newcomer, "audit", unassigned_case("intake"))
	d.allowed == false
}

test_procesregisseur_screens_in_the_screening_phase if {
	allowed(fx.procesregisseur, "screening", "screen", "youth", "screening", null)
	allowed(fx.procesregisseur, "screening", "triage", "youth", "screening", null)
}

test_screening_is_refused_outside_the_screening_phase if {
	d := act(fx.procesregisseur, "preparation", "screen", "youth", "preparation", null)
	d.allowed == false
}

test_another_procesregisseur_may_not_screen_this_case if {
	other := object.union(fx.procesregisseur, {"user": "u-99"})
	d := act(other, "screening", "screen", "adults", "screening", null)
	d.allowed == false
	d.reason == "The viewer does not stand in the relation to this case that the action needs."
}

test_a_participant_may_not_screen if {
	not allowed(fx.participant("politie"), "screening", "screen", "adults", "screening", null)
}

# --- invitations, agenda, casusregisseur -----------------------------------------------------

test_procesregisseur_invites_and_withdraws_partners if {
	allowed(fx.procesregisseur, "preparation", "invite", "domestic_violence", "preparation", {"partner": "woonstede"})
	allowed(fx.procesregisseur, "preparation", "withdraw_invitation", "domestic_violence", "preparation", {"partner": "woonstede"})
}

test_a_participant_may_not_invite if {
	not allowed(fx.participant("politie"), "preparation", "invite", "domestic_violence", "preparation", {"partner": "woonstede"})
}

test_procesregisseur_schedules_and_assigns_the_casusregisseur if {
	allowed(fx.procesregisseur, "screening", "schedule", "multi_problem", "screening", null)
	allowed(fx.procesregisseur, "case_conference", "assign_casusregisseur", "multi_problem", "case_conference", {"partner": "gemeente-wi", "user": "u-4"})
}

test_casusregisseur_is_not_assigned_during_screening if {
	not allowed(fx.procesregisseur, "screening", "assign_casusregisseur", "multi_problem", "screening", {"partner": "gemeente-wi", "user": "u-4"})
}

# --- phases ----------------------------------------------------------------------------------

test_procesregisseur_moves_the_case_forward_up_to_the_case_conference if {
	allowed(fx.procesregisseur, "intake", "change_phase", "youth", "intake", {"phase": "screening"})
	allowed(fx.procesregisseur, "screening", "change_phase", "youth", "screening", {"phase": "preparation"})
	allowed(fx.procesregisseur, "preparation", "change_phase", "youth", "preparation", {"phase": "case_conference"})
}

test_a_phase_cannot_be_skipped if {
	d := act(fx.procesregisseur, "intake", "change_phase", "youth", "intake", {"phase": "preparation"})
	d.allowed == false
	d.reason == "A phase moves one step forward only, by a regisseur allowed to move it from the current phase."
}

test_a_phase_cannot_move_backward if {
	not allowed(fx.procesregisseur, "plan", "change_phase", "adults", "plan", {"phase": "case_conference"})
}

test_casusregisseur_may_not_move_the_case_before_the_case_conference if {
	not allowed(fx.casusregisseur, "preparation", "change_phase", "adults", "preparation", {"phase": "case_conference"})
}

test_casusregisseur_moves_the_case_from_conference_to_plan_to_execution if {
	allowed(fx.casusregisseur, "case_conference", "change_phase", "adults", "case_conference", {"phase": "plan"})
	allowed(fx.casusregisseur, "plan", "change_phase", "adults", "plan", {"phase": "execution"})
	allowed(fx.procesregisseur, "plan", "change_phase", "adults", "plan", {"phase": "execution"})
}

test_execution_is_left_only_by_closing if {
	not allowed(fx.casusregisseur, "execution", "change_phase", "adults", "execution", {"phase": "closed"})
	allowed(fx.casusregisseur, "execution", "close", "adults", "execution", null)
}

test_procesregisseur_may_close_a_case_early if {
	allowed(fx.procesregisseur, "screening", "close", "youth", "screening", null)
}

test_a_participant_may_not_close_the_case if {
	not allowed(fx.participant("politie"), "execution", "close", "adults", "execution", null)
}

test_a_closed_case_is_not_closed_again if {
	not allowed(fx.casusregisseur, "execution", "close", "adults", "closed", null)
}

# --- reading the case and the plan -----------------------------------------------------------

test_participants_and_regisseurs_read_the_case if {
	allowed(fx.participant("woonstede"), "case_conference", "read_case", "multi_problem", "case_conference", null)
	allowed(fx.procesregisseur, "intake", "read_case", "multi_problem", "intake", null)
}

test_an_outsider_may_not_read_the_case if {
	not allowed(fx.participant("buiten"), "case_conference", "read_case", "multi_problem", "case_conference", null)
}

test_nobody_reads_a_closed_case_for_case_work if {
	not allowed(fx.participant("woonstede"), "execution", "read_case", "multi_problem", "closed", null)
}

test_casusregisseur_records_the_plan_in_the_plan_phase if {
	allowed(fx.casusregisseur, "plan", "record_plan", "domestic_violence", "plan", null)
	allowed(fx.casusregisseur, "execution", "record_plan", "domestic_violence", "execution", null)
}

test_the_plan_is_not_recorded_before_the_plan_phase if {
	not allowed(fx.casusregisseur, "case_conference", "record_plan", "domestic_violence", "case_conference", null)
}

test_only_the_casusregisseur_records_the_plan if {
	not allowed(fx.procesregisseur, "plan", "record_plan", "domestic_violence", "plan", null)
	not allowed(fx.participant("politie"), "plan", "record_plan", "domestic_violence", "plan", null)
}

test_participants_read_the_plan_also_for_a_follow_up_conference if {
	allowed(fx.participant("politie"), "plan", "read_plan", "youth", "plan", null)
	allowed(fx.participant("politie"), "case_conference", "read_plan", "youth", "execution", null)
}

test_the_plan_is_not_read_before_the_plan_phase if {
	not allowed(fx.participant("politie"), "case_conference", "read_plan", "youth", "case_conference", null)
}

test_casusregisseur_reports_on_any_intervention if {
	allowed(fx.casusregisseur, "execution", "monitor_plan", "adults", "execution", {"owner": "politie"})
	allowed(fx.casusregisseur, "plan", "monitor_plan", "adults", "plan", null)
}

test_a_member_reports_only_on_interventions_its_partner_owns if {
	allowed(fx.participant("woonstede"), "execution", "monitor_plan", "adults", "execution", {"owner": "woonstede"})
	d := act(fx.participant("woonstede"), "execution", "monitor_plan", "adults", "execution", {"owner": "politie"})
	d.allowed == false
	d.reason == "The viewer does not stand in the relation to this case that the action needs."
}

test_an_intervention_without_a_named_owner_is_reported_on_by_the_casusregisseur_only if {
	not allowed(fx.participant("politie"), "execution", "monitor_plan", "adults", "execution", null)
	not allowed(fx.participant("politie"), "execution", "monitor_plan", "adults", "execution", {"owner": null})
	not allowed(fx.participant("politie"), "execution", "monitor_plan", "adults", "execution", {"owner": ["politie"]})
}

test_an_owner_outside_the_case_cannot_report if {
	# "buiten" is no participant, so owning an intervention (which validation forbids anyway)
	# does not make it a member.
	not allowed(fx.participant("buiten"), "execution", "monitor_plan", "adults", "execution", {"owner": "buiten"})
}

test_the_procesregisseur_reports_only_on_what_its_partner_owns if {
	allowed(fx.procesregisseur, "execution", "monitor_plan", "adults", "execution", {"owner": "zvh"})
	not allowed(fx.procesregisseur, "execution", "monitor_plan", "adults", "execution", {"owner": "gemeente-wi"})
}

test_monitoring_happens_in_the_plan_and_execution_phases_only if {
	not allowed(fx.casusregisseur, "case_conference", "monitor_plan", "adults", "case_conference", null)
	not allowed(fx.participant("woonstede"), "case_conference", "monitor_plan", "adults", "plan", {"owner": "woonstede"})
}

# --- audit and policy review -----------------------------------------------------------------

case_review_input(viewer, case) := {
	"viewer": viewer,
	"purpose": "policy_review",
	"action": "simulate_on_case",
	"case": case,
	"target": null,
}

# The case with its participants replaced (object.union would merge the two maps).
with_participants(case, participants) := object.union(object.remove(case, ["participants"]), {"participants": participants})

test_a_privacy_officer_of_a_taking_part_partner_simulates_on_the_case if {
	# fx.privacy_officer is of "politie", invited to the fixture case
	actions.decision.allowed with input as case_review_input(fx.privacy_officer, fx.case_at("adults", "preparation"))
}

test_a_privacy_officer_of_an_outside_partner_may_not_simulate_on_the_case if {
	outsider := {"partner": "buiten", "partner_kind": "housing", "user": "u-8", "roles": ["privacy_officer"]}
	d := actions.decision with input as case_review_input(outsider, fx.case_at("adults", "preparation"))
	d.allowed == false
	d.reason == "The viewer does not stand in the relation to this case that the action needs."
}

test_a_withdrawn_partner_may_no_longer_simulate_on_the_case if {
	case := fx.case_at("adults", "plan")
	without := with_participants(case, object.remove(case.participants, ["politie"]))
	d := actions.decision with input as case_review_input(fx.privacy_officer, without)
	d.allowed == false
}

test_the_veiligheidshuis_and_the_regisseurs_partners_simulate_on_the_case if {
	nobody_invited := with_participants(fx.case_at("adults", "closed"), {})
	zvh := {"partner": "zvh-2", "partner_kind": "zvh_staff", "user": "fg-1", "roles": ["auditor"]}
	actions.decision.allowed with input as case_review_input(zvh, nobody_invited)
	municipality := {"partner": "gemeente-wi", "partner_kind": "municipality", "user": "fg-2", "roles": ["privacy_officer"]}
	actions.decision.allowed with input as case_review_input(municipality, nobody_invited)
}

test_only_privacy_officers_and_auditors_simulate_on_a_case if {
	d := actions.decision with input as case_review_input(fx.participant("politie"), fx.case_at("adults", "plan"))
	d.allowed == false
}

test_a_simulation_on_a_case_serves_policy_review_only if {
	i := object.union(case_review_input(fx.privacy_officer, fx.case_at("adults", "plan")), {"purpose": "audit"})
	d := actions.decision with input as i
	d.allowed == false
}


test_auditor_reads_and_exports_the_log if {
	no_case(fx.auditor, "audit", "read_log").allowed == true
	no_case(fx.auditor, "audit", "export_log").allowed == true
	no_case(fx.auditor, "subject_access", "subject_access_report").allowed == true
}

test_auditor_may_read_the_log_of_a_closed_case if {
	allowed(fx.auditor, "audit", "read_log", "adults", "closed", null)
}

test_a_participant_may_not_read_the_log if {
	no_case(fx.participant("politie"), "audit", "read_log").allowed == false
}

test_reading_the_log_needs_an_audit_purpose if {
	no_case(fx.auditor, "case_conference", "read_log").allowed == false
}

test_privacy_officer_reads_simulates_loads_and_approves_policies if {
	every action in ["read_policies", "simulate_policy", "load_policy", "approve_policy"] {
		no_case(fx.privacy_officer, "policy_review", action).allowed == true
	}
}

test_auditor_reads_policies_but_may_not_approve_them if {
	no_case(fx.auditor, "policy_review", "read_policies").allowed == true
	no_case(fx.auditor, "policy_review", "approve_policy").allowed == false
}

test_privacy_officer_may_not_read_cases if {
	not allowed(fx.privacy_officer, "case_conference", "read_case", "adults", "case_conference", null)
}

# --- fail closed -----------------------------------------------------------------------------

test_an_unknown_action_is_denied if {
	d := no_case(fx.auditor, "audit", "delete_log")
	d.allowed == false
	d.reason == "Unknown action; only actions in the action catalogue can be allowed."
}

test_a_case_action_without_a_case_is_denied if {
	d := no_case(fx.procesregisseur, "screening", "screen")
	d.allowed == false
	d.reason == "This action needs a case."
}

test_a_case_at_an_unknown_table_is_denied if {
	not allowed(fx.procesregisseur, "screening", "screen", "cooking", "screening", null)
}

# --- correcting a subject's identifying data ---------------------------------------------------

registered_input(viewer, purpose, phase, registrant) := object.union(
	fx.action_input(viewer, purpose, "correct_subject", "multi_problem", phase, null),
	{"case": object.union(fx.case_at("multi_problem", phase), {"registered_by": registrant})},
)

test_the_registering_partner_corrects_its_subjects_data if {
	d := actions.decision with input as registered_input(fx.participant("politie"), "preparation", "preparation", "politie")
	d.allowed == true
}

test_another_participant_may_not_correct_a_subject_it_did_not_register if {
	d := actions.decision with input as registered_input(fx.participant("om"), "preparation", "preparation", "politie")
	d.allowed == false
}

test_the_procesregisseur_may_not_correct_what_a_partner_registered if {
	d := actions.decision with input as registered_input(fx.procesregisseur, "preparation", "preparation", "politie")
	d.allowed == false
}

test_a_registrant_whose_invitation_was_withdrawn_may_not_correct if {
	inp := registered_input(fx.participant("politie"), "preparation", "preparation", "politie")
	case := object.union(object.remove(inp.case, ["participants"]), {"participants": object.remove(inp.case.participants, ["politie"])})
	withdrawn := object.union(object.remove(inp, ["case"]), {"case": case})
	d := actions.decision with input as withdrawn
	d.allowed == false
	contains(d.reason, "relation")
}

test_subjects_are_not_corrected_in_a_closed_case if {
	d := actions.decision with input as registered_input(fx.participant("politie"), "audit", "closed", "politie")
	d.allowed == false
}

# --- the caseload -------------------------------------------------------------------------------

test_a_member_lists_its_case_in_its_caseload if {
	allowed(fx.participant("politie"), "case_management", "list_caseload", "multi_problem", "plan", null)
	allowed(fx.procesregisseur, "case_management", "list_caseload", "multi_problem", "intake", null)
}

test_an_outsider_does_not_list_a_case_in_its_caseload if {
	act(fx.participant("buiten"), "case_management", "list_caseload", "multi_problem", "plan", null).allowed == false
}

test_the_caseload_purpose_does_not_open_case_work if {
	act(fx.participant("politie"), "case_management", "read_plan", "multi_problem", "plan", null).allowed == false
	act(fx.participant("politie"), "plan", "list_caseload", "multi_problem", "plan", null).allowed == false
}

# --- informing the subject (ADR 0012) ----------------------------------------------------------

notice_input(viewer, purpose, action, phase, registrant) := object.union(
	fx.action_input(viewer, purpose, action, "multi_problem", phase, null),
	{"case": object.union(fx.case_at("multi_problem", phase), {"registered_by": registrant})},
)

notice_allowed(viewer, purpose, action, phase) if {
	d := actions.decision with input as notice_input(viewer, purpose, action, phase, "politie")
	d.allowed == true
}

test_the_regisseurs_record_that_a_subject_was_informed if {
	notice_allowed(fx.procesregisseur, "preparation", "record_notice", "preparation")
	notice_allowed(fx.procesregisseur, "screening", "record_notice", "screening")
	notice_allowed(fx.casusregisseur, "case_conference", "record_notice", "case_conference")
}

test_another_member_may_not_record_notices_as_a_regisseur if {
	not notice_allowed(fx.participant("politie"), "preparation", "record_notice", "preparation")
	not notice_allowed(fx.participant("om"), "preparation", "record_notice", "preparation")
}

test_a_procesregisseur_who_does_not_run_the_case_may_not_record_a_notice if {
	other := object.union(fx.procesregisseur, {"user": "u-3"})
	d := actions.decision with input as notice_input(other, "preparation", "record_notice", "preparation", "politie")
	d.allowed == false
	contains(d.reason, "relation")
}

test_the_registering_partner_records_that_it_informed_the_subject if {
	notice_allowed(fx.participant("politie"), "intake", "record_notice_as_registrant", "intake")
	notice_allowed(fx.participant("politie"), "preparation", "record_notice_as_registrant", "preparation")
}

test_a_member_that_did_not_register_the_case_may_not_record_as_registrant if {
	not notice_allowed(fx.participant("om"), "preparation", "record_notice_as_registrant", "preparation")
	not notice_allowed(fx.participant("woonstede"), "preparation", "record_notice_as_registrant", "preparation")
}

test_notices_are_not_recorded_in_a_closed_case_or_for_another_purpose if {
	not notice_allowed(fx.procesregisseur, "audit", "record_notice", "closed")
	not notice_allowed(fx.participant("politie"), "audit", "record_notice_as_registrant", "closed")
	not notice_allowed(fx.procesregisseur, "plan", "record_notice", "preparation")
}

test_members_read_the_notices_outsiders_and_auditors_do_not if {
	notice_allowed(fx.participant("om"), "preparation", "read_notices", "preparation")
	notice_allowed(fx.procesregisseur, "case_conference", "read_notices", "case_conference")
	not notice_allowed(fx.participant("buiten"), "preparation", "read_notices", "preparation")
	not notice_allowed(fx.auditor, "audit", "read_notices", "preparation")
}

# -- case conferences (ADR 0013) ------------------------------------------------------------

meeting_allowed(viewer, purpose, action, phase) if {
	d := actions.decision with input as fx.action_input(viewer, purpose, action, "multi_problem", phase, fx.case_at("multi_problem", phase))
	d.allowed == true
}

test_veiligheidshuis_procesregisseurs_schedule_case_conferences if {
	d := actions.decision with input as {"viewer": fx.procesregisseur, "purpose": "case_conference", "action": "schedule_meeting", "case": null}
	d.allowed == true
	e := actions.decision with input as {"viewer": fx.casusregisseur, "purpose": "case_conference", "action": "schedule_meeting", "case": null}
	e.allowed == false
	f := actions.decision with input as {"viewer": fx.procesregisseur, "purpose": "plan", "action": "schedule_meeting", "case": null}
	f.allowed == false
}

test_only_the_case_procesregisseur_puts_it_on_a_case_conference if {
	meeting_allowed(fx.procesregisseur, "case_conference", "add_meeting_item", "case_conference")
	meeting_allowed(fx.procesregisseur, "case_conference", "add_meeting_item", "execution")
	not meeting_allowed(object.union(fx.procesregisseur, {"user": "u-3"}), "case_conference", "add_meeting_item", "case_conference")
	not meeting_allowed(fx.casusregisseur, "case_conference", "add_meeting_item", "case_conference")
	not meeting_allowed(fx.procesregisseur, "case_conference", "add_meeting_item", "preparation")
	not meeting_allowed(fx.procesregisseur, "case_conference", "add_meeting_item", "closed")
}

test_members_read_the_meeting_and_minutes_outsiders_do_not if {
	meeting_allowed(fx.participant("om"), "case_conference", "read_meeting", "case_conference")
	meeting_allowed(fx.participant("om"), "case_conference", "read_minutes", "plan")
	meeting_allowed(fx.participant("om"), "plan", "read_minutes", "plan")
	not meeting_allowed(fx.participant("buiten"), "case_conference", "read_meeting", "case_conference")
	not meeting_allowed(fx.participant("buiten"), "case_conference", "read_minutes", "case_conference")
	not meeting_allowed(fx.auditor, "audit", "read_minutes", "case_conference")
	not meeting_allowed(fx.participant("om"), "preparation", "read_meeting", "case_conference")
}

test_the_regisseurs_record_minutes_and_attendance if {
	meeting_allowed(fx.casusregisseur, "case_conference", "record_minutes", "case_conference")
	meeting_allowed(fx.procesregisseur, "case_conference", "record_attendance", "case_conference")
	not meeting_allowed(fx.participant("om"), "case_conference", "record_minutes", "case_conference")
	not meeting_allowed(fx.participant("om"), "case_conference", "record_attendance", "case_conference")
	not meeting_allowed(fx.casusregisseur, "case_conference", "record_minutes", "preparation")
}

# --- coordination with another house or chain, management information (ADR 0014) -------------

test_the_case_procesregisseur_records_coordination_from_screening_on if {
	allowed(fx.procesregisseur, "screening", "record_coordination", "multi_problem", "screening", null)
	allowed(fx.procesregisseur, "execution", "record_coordination", "multi_problem", "execution", null)
	not allowed(object.union(fx.procesregisseur, {"user": "u-3"}), "screening", "record_coordination", "multi_problem", "screening", null)
	not allowed(fx.casusregisseur, "plan", "record_coordination", "multi_problem", "plan", null)
	not allowed(fx.participant("politie"), "preparation", "record_coordination", "multi_problem", "preparation", null)
	not allowed(fx.procesregisseur, "intake", "record_coordination", "multi_problem", "intake", null)
	not allowed(fx.procesregisseur, "audit", "record_coordination", "multi_problem", "closed", null)
}

test_members_read_the_coordination_outsiders_do_not if {
	allowed(fx.participant("om"), "preparation", "read_coordination", "multi_problem", "preparation", null)
	allowed(fx.casusregisseur, "plan", "read_coordination", "multi_problem", "plan", null)
	not allowed(fx.participant("buiten"), "preparation", "read_coordination", "multi_problem", "preparation", null)
	not allowed(fx.auditor, "audit", "read_coordination", "multi_problem", "preparation", null)
}

test_procesregisseurs_privacy_officers_and_auditors_read_the_statistics if {
	no_case(fx.procesregisseur, "management_information", "read_statistics").allowed == true
	no_case(fx.privacy_officer, "management_information", "read_statistics").allowed == true
	no_case(fx.auditor, "management_information", "read_statistics").allowed == true
}

test_the_statistics_need_their_purpose_and_are_not_for_participants if {
	no_case(fx.auditor, "audit", "read_statistics").allowed == false
	no_case(fx.procesregisseur, "case_management", "read_statistics").allowed == false
	no_case(fx.participant("politie"), "management_information", "read_statistics").allowed == false
	no_case(fx.casusregisseur, "management_information", "read_statistics").allowed == false
}

test_the_management_information_purpose_opens_no_case_work if {
	not allowed(fx.procesregisseur, "management_information", "read_case", "multi_problem", "screening", null)
	not allowed(fx.participant("politie"), "management_information", "list_caseload", "multi_problem", "plan", null)
}

# --- a meeting's frame: its chair and its scheduler, nobody else ---------------------------------

frame_input(viewer, target) := {"viewer": viewer, "purpose": "case_conference", "action": "read_meeting_frame", "case": null, "target": target}

meeting_held_by(partner, user) := {"chair": {"partner": partner, "user": user}, "scheduled_by": {"partner": "zvh", "user": "u-9"}}

test_the_chair_sees_the_frame_of_an_empty_meeting if {
	d := actions.decision with input as frame_input(fx.procesregisseur, meeting_held_by("zvh", "u-1"))
	d.allowed == true
}

test_the_scheduler_sees_the_frame_of_an_empty_meeting if {
	viewer := object.union(fx.procesregisseur, {"user": "u-9"})
	d := actions.decision with input as frame_input(viewer, meeting_held_by("gemeente-wi", "u-4"))
	d.allowed == true
}

test_another_procesregisseur_does_not_see_the_frame if {
	viewer := object.union(fx.procesregisseur, {"user": "u-2"})
	d := actions.decision with input as frame_input(viewer, meeting_held_by("zvh", "u-1"))
	d.allowed == false
	contains(d.reason, "chair")
}

test_a_meeting_frame_without_a_target_names_nobody if {
	d := actions.decision with input as frame_input(fx.procesregisseur, null)
	d.allowed == false
}

# --- misuse signals: the privacy officer of the users' own organisation ------------------------

test_a_privacy_officer_reads_the_misuse_signals_for_an_audit if {
	no_case(fx.privacy_officer, "audit", "read_misuse_signals").allowed == true
}

test_the_misuse_signals_need_the_audit_purpose if {
	no_case(fx.privacy_officer, "policy_review", "read_misuse_signals").allowed == false
	no_case(fx.privacy_officer, "management_information", "read_misuse_signals").allowed == false
}

test_only_privacy_officers_read_the_misuse_signals if {
	# the auditor reads the whole log under read_log; the per-user signals are the
	# organisation's own officer's (AVG art. 38-39: the officer of the controller)
	no_case(fx.auditor, "audit", "read_misuse_signals").allowed == false
	no_case(fx.procesregisseur, "audit", "read_misuse_signals").allowed == false
	no_case(fx.participant("politie"), "audit", "read_misuse_signals").allowed == false
	no_case(fx.casusregisseur, "audit", "read_misuse_signals").allowed == false
}

# --- a partner's own access log (FSC logging) -----------------------------------------------

test_a_partner_reads_its_own_log_for_an_audit if {
	no_case(fx.participant("politie"), "audit", "read_partner_log").allowed == true
	no_case(fx.privacy_officer, "audit", "read_partner_log").allowed == true
	no_case(fx.auditor, "audit", "read_partner_log").allowed == true
}

test_the_partner_log_needs_the_audit_purpose if {
	no_case(fx.participant("politie"), "preparation", "read_partner_log").allowed == false
	no_case(fx.privacy_officer, "policy_review", "read_partner_log").allowed == false
	no_case(fx.auditor, "management_information", "read_partner_log").allowed == false
}

test_regisseurs_do_not_read_a_partner_log if {
	# a regisseur of the house is no partner application, officer or auditor of its own log
	no_case(fx.procesregisseur, "audit", "read_partner_log").allowed == false
	no_case(fx.casusregisseur, "audit", "read_partner_log").allowed == false
}

# --- a shredded case: who learns that it was shredded ---------------------------------------

test_a_member_of_a_shredded_case_learns_it_was_shredded if {
	allowed(fx.participant("politie"), "execution", "see_shredded", "adults", "closed", null)
	allowed(fx.procesregisseur, "case_management", "see_shredded", "adults", "closed", null)
	allowed(fx.casusregisseur, "plan", "see_shredded", "adults", "closed", null)
}

test_an_auditor_learns_a_case_was_shredded if {
	allowed(fx.auditor, "audit", "see_shredded", "adults", "closed", null)
}

test_an_outsider_does_not_learn_a_case_was_shredded if {
	# "buiten" was never invited; woonstede only with its user u-1
	not allowed(fx.participant("buiten"), "execution", "see_shredded", "adults", "closed", null)
	not allowed(object.union(fx.participant("woonstede"), {"user": "u-2"}), "execution", "see_shredded", "adults", "closed", null)
	not allowed(fx.privacy_officer, "audit", "see_shredded", "adults", "closed", null)
	not allowed(object.union(fx.procesregisseur, {"user": "u-9"}), "case_management", "see_shredded", "adults", "closed", null)
}

# --- subscriptions to notifications ---------------------------------------------------------

test_a_partner_application_manages_its_subscriptions if {
	no_case(fx.participant("politie"), "preparation", "manage_subscriptions").allowed == true
	no_case(fx.participant("mw"), "execution", "manage_subscriptions").allowed == true
	no_case(fx.privacy_officer, "preparation", "manage_subscriptions").allowed == true
	no_case(fx.procesregisseur, "case_management", "manage_subscriptions").allowed == true
}

test_subscriptions_are_case_work if {
	no_case(fx.participant("politie"), "audit", "manage_subscriptions").allowed == false
	no_case(fx.participant("politie"), "policy_review", "manage_subscriptions").allowed == false
	no_case(fx.auditor, "preparation", "manage_subscriptions").allowed == false
}
