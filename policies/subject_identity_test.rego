# Tests of the identity decision (vhhub.disclosure.identity): who learns whom a case is about.
package vhhub.subject_identity_test

import rego.v1

import data.vhhub.disclosure
import data.vhhub.fixtures_test as fx

identity_of(viewer, purpose, table, phase) := d if {
	d := disclosure.identity_decision with input as {"viewer": viewer, "purpose": purpose, "case": fx.case_at(table, phase)}
}

registered_by(viewer, partner, purpose, phase) := d if {
	case := object.union(fx.case_at("multi_problem", phase), {"registered_by": partner})
	d := disclosure.identity_decision with input as {"viewer": viewer, "purpose": purpose, "case": case}
}

test_procesregisseur_sees_name_birth_date_and_reason_from_intake_without_bsn if {
	d := identity_of(fx.procesregisseur, "intake", "multi_problem", "intake")
	d.classes == ["date_of_birth", "name", "reason"]
	d.rule == "identity_grant"
}

test_procesregisseur_is_never_given_the_bsn_because_zvh_staff_has_no_legal_basis if {
	every phase in ["intake", "screening", "preparation", "case_conference", "plan", "execution"] {
		d := identity_of(fx.procesregisseur, phase, "youth", phase)
		not "bsn" in d.classes
	}
}

test_participants_see_nothing_before_preparation if {
	every phase in ["intake", "screening"] {
		d := identity_of(fx.participant("politie"), phase, "adults", phase)
		d.classes == []
	}
}

test_participants_see_name_and_birth_date_from_preparation if {
	every partner in ["politie", "woonstede", "mw", "ggz", "zvh"] {
		d := identity_of(fx.participant(partner), "preparation", "multi_problem", "preparation")
		d.classes == ["date_of_birth", "name"]
	}
}

test_bsn_reaches_partners_with_a_legal_basis_at_the_case_conference if {
	every partner in ["politie", "om", "reclassering", "rvdk", "gemeente-wi", "ggz", "jeugdzorg", "veilig-thuis"] {
		d := identity_of(fx.participant(partner), "case_conference", "multi_problem", "case_conference")
		"bsn" in d.classes
		d.rule == "identity_grant"
	}
}

test_bsn_never_reaches_housing_corporations_or_social_work if {
	every partner in ["woonstede", "mw"] {
		every phase in ["preparation", "case_conference", "plan", "execution"] {
			d := identity_of(fx.participant(partner), phase, "multi_problem", phase)
			not "bsn" in d.classes
		}
	}
	d := identity_of(fx.participant("woonstede"), "case_conference", "multi_problem", "case_conference")
	d.classes == ["address", "date_of_birth", "name"]
	d.rule == "bsn_without_legal_basis"
	contains(d.reason, "no legal basis")
}

test_participants_never_see_the_registration_reason if {
	every phase in ["preparation", "case_conference", "plan", "execution"] {
		d := identity_of(fx.participant("politie"), phase, "domestic_violence", phase)
		not "reason" in d.classes
	}
}

test_casusregisseur_sees_everything_from_preparation if {
	d := identity_of(fx.casusregisseur, "plan", "youth", "plan")
	d.classes == ["address", "bsn", "date_of_birth", "name", "reason"]
}

test_an_uninvited_partner_sees_nothing if {
	d := identity_of(fx.participant("buiten"), "case_conference", "multi_problem", "case_conference")
	d.classes == []
	d.rule == "not_a_participant"
}

test_a_purpose_that_does_not_fit_the_phase_shows_nothing if {
	d := identity_of(fx.participant("politie"), "plan", "multi_problem", "case_conference")
	d.classes == []
	d.rule == "purpose_does_not_fit_phase"
}

test_auditors_see_no_identifying_data if {
	every phase in ["intake", "preparation", "case_conference", "closed"] {
		d := identity_of(fx.auditor, "audit", "multi_problem", phase)
		d.classes == []
	}
}

test_a_closed_case_shows_nothing_for_case_work if {
	d := identity_of(fx.casusregisseur, "execution", "multi_problem", "closed")
	d.classes == []
	d.rule == "case_closed_withheld"
}

test_the_registering_partner_sees_what_it_registered_from_intake if {
	d := registered_by(fx.participant("woonstede"), "woonstede", "intake", "intake")
	d.classes == ["address", "bsn", "date_of_birth", "name", "reason"]
	d.rule == "registrant_sees_own_registration"
}

test_the_registering_partner_as_auditor_gets_no_identity if {
	viewer := fx.viewer("gemeente-wi", ["auditor", "participant"])
	d := registered_by(viewer, "gemeente-wi", "audit", "plan")
	d.classes == []
}

test_a_table_can_override_the_default_grants if {
	d := disclosure.identity_decision with input as {"viewer": fx.participant("politie"), "purpose": "preparation", "case": fx.case_at("youth", "preparation")}
		with data.vhhub.subject_identity.tables as {"youth": {"participant": {"preparation": {"preparation": {"name": true}}}}}
	d.classes == ["name"]
}

test_an_unknown_class_in_the_data_is_never_released if {
	d := disclosure.identity_decision with input as {"viewer": fx.participant("politie"), "purpose": "preparation", "case": fx.case_at("youth", "preparation")}
		with data.vhhub.subject_identity.tables as {"youth": {"participant": {"preparation": {"preparation": {"name": true, "photo": true}}}}}
	d.classes == ["name"]
}

# --- the caseload (purpose case_management): names to recognise a case, nothing more ---------

test_the_caseload_shows_the_procesregisseur_names_only if {
	d := identity_of(fx.procesregisseur, "case_management", "multi_problem", "screening")
	d.classes == ["name"]
}

test_the_caseload_shows_participants_names_from_preparation_only if {
	identity_of(fx.participant("politie"), "case_management", "multi_problem", "intake").classes == []
	identity_of(fx.participant("politie"), "case_management", "multi_problem", "plan").classes == ["name"]
}

test_the_registrant_gets_no_more_than_a_name_in_its_caseload if {
	d := registered_by(fx.participant("politie"), "politie", "case_management", "case_conference")
	d.classes == ["name"]
}
