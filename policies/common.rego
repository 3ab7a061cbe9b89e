# METADATA
# title: Shared facts about the viewer, the case and the purpose
# description: >-
#   Helper rules that the disclosure, publish and action policies all ask. Each reads
#   input and the network data by key only; none searches an array of the matrix.
# custom:
#   source: Privacyconvenant ZVH (deelnemers van een casus) and AVG art. 5(1)(b) (purpose limitation)
package vhhub.common

import rego.v1

# METADATA
# title: Viewer is an invited participant
# description: >-
#   The viewer's partner is invited to the case, either as a whole (empty user list) or
#   with this user named, and the viewer acts as participant or publisher.
# custom:
#   source: Privacyconvenant ZVH (only the partners invited to a case take part in it)
is_participant if {
	data.vhhub.network.partner_kinds[input.viewer.partner_kind]
	some role in input.viewer.roles
	data.vhhub.network.participant_roles[role]
	invitation := input.case.participants[input.viewer.partner]
	invitation_names_viewer(invitation)
}

# METADATA
# title: Invitation covers the viewer
# description: >-
#   An invitation with an empty user list covers every user of the partner; otherwise
#   only the named users.
# custom:
#   source: Privacyconvenant ZVH (only the partners invited to a case take part in it)
invitation_names_viewer(invitation) if count(invitation.users) == 0

invitation_names_viewer(invitation) if input.viewer.user in invitation.users

# METADATA
# title: Viewer is the case's procesregisseur
# description: >-
#   The procesregisseur (Veiligheidshuis staff) named on this case, acting in that role.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (procesregie ligt bij het Veiligheidshuispersoneel)
is_procesregisseur if {
	"procesregisseur" in input.viewer.roles
	input.case.procesregisseur.partner == input.viewer.partner
	input.case.procesregisseur.user == input.viewer.user
}

# METADATA
# title: Viewer is the case's casusregisseur
# description: >-
#   The coordinator named for this one case, acting in that role.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (casusregie; een gezin, een plan, een regisseur)
is_casusregisseur if {
	"casusregisseur" in input.viewer.roles
	input.case.casusregisseur.partner == input.viewer.partner
	input.case.casusregisseur.user == input.viewer.user
}

# METADATA
# title: Viewer is one of the case's regisseurs
# description: Either the procesregisseur or the casusregisseur of this case.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (procesregie en casusregie)
is_regisseur if is_procesregisseur

is_regisseur if is_casusregisseur

# METADATA
# title: Viewer belongs to the case
# description: An invited participant or one of the case's regisseurs.
# custom:
#   source: Privacyconvenant ZVH (deelnemers van een casus) and Landelijk kader Veiligheidshuizen 2013
is_member if is_participant

is_member if is_regisseur

# METADATA
# title: Viewer acts as auditor
# description: The viewer holds the auditor role (access-log review, no fact content).
# custom:
#   source: AVG art. 5(2) (accountability) and art. 32 (logging of access)
acts_as_auditor if "auditor" in input.viewer.roles

# METADATA
# title: Case table and phase are known
# description: >-
#   The case names a table and a phase that the network data knows; anything else is
#   treated as unknown and nothing is disclosed (fail closed).
# custom:
#   source: AVG art. 25 (data protection by default)
case_context_is_known if {
	data.vhhub.network.tables[input.case.table]
	data.vhhub.network.phases[input.case.phase]
}

# METADATA
# title: Case is closed
# description: The case has been closed (afschaling); its content is no longer shared.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (afschaling naar de reguliere zorg) and AVG art. 5(1)(e)
case_is_closed if input.case.phase == "closed"

# METADATA
# title: Purpose fits the phase
# description: >-
#   The stated purpose is one the network allows in the case's current phase (for example
#   case_conference in the case_conference phase); audit fits every phase.
# custom:
#   source: AVG art. 5(1)(b) (purpose limitation) and Handvat gegevensdeling ZVH 2017 + addendum 2020 (doelbinding per fase)
purpose_fits_phase if data.vhhub.network.phase_purposes[input.case.phase][input.purpose]

# METADATA
# title: Purpose is audit
# description: The request is made to audit the access log, not to work on the case.
# custom:
#   source: AVG art. 5(2) (accountability)
purpose_is_audit if data.vhhub.network.audit_purposes[input.purpose]

# METADATA
# title: Purpose is an overview
# description: >-
#   The request lists the viewer's own cases (the caseload, purpose case_management): it may
#   learn which cases it works on, their table, phase and dates, and whom they concern by
#   name, never fact content, not even its own.
# custom:
#   source: AVG art. 5(1)(b) and (c) (purpose limitation, data minimisation)
purpose_is_overview if data.vhhub.network.overview_purposes[input.purpose]

# METADATA
# title: Purpose serves the case work of this phase
# description: The purpose fits the phase and is case work, not audit.
# custom:
#   source: AVG art. 5(1)(b) (purpose limitation)
purpose_serves_case_work if {
	purpose_fits_phase
	not purpose_is_audit
}

# METADATA
# title: Fact matches the fact-type catalogue
# description: >-
#   The fact's type is in the catalogue, its life domain is known and is the type's domain
#   (any domain for a type whose domain is "*"), and its sensitivity is the type's sensitivity. A
#   publisher cannot relabel a criminal fact as ordinary to widen who sees it.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and AVG art. 9 and 10 (special and criminal data)
fact_matches_catalogue(fact) if {
	entry := data.vhhub.fact_types[fact.type]
	data.vhhub.network.life_domains[fact.domain]
	entry.domain in {"*", fact.domain}
	entry.sensitivity == fact.sensitivity
}
