# METADATA
# title: Purpose-limited disclosure of who a case is about
# description: >-
#   What one viewer of a case may see of its subjects' identifying data (name, date of
#   birth, address, BSN) and of the registration reason, for one purpose, in the case's
#   current phase. Decided once per request, like the case-level checks of the fact
#   decisions (it shares them: an unknown context, a closed case, a viewer without standing
#   or a purpose that does not fit the phase show nothing). The grants are data
#   (data.vhhub.subject_identity), per table, viewer row, phase and purpose.
# custom:
#   source: Privacyconvenant ZVH and Handvat gegevensdeling ZVH 2017 + addendum 2020 (need to know), AVG art. 5(1)(b) and (c)
package vhhub.disclosure

# Rules are defined after the rules they read: under `with` (the policy tests) the embedded
# engine read a rule defined later in this file as undefined from within an else-chain.

import rego.v1

import data.vhhub.common

# METADATA
# title: Every identity class
# description: The classes the data names (data.vhhub.subject_identity.classes).
# custom:
#   source: Privacyconvenant ZVH (gegevens van betrokkenen)
identity_all_classes := {cls | some cls in object.keys(data.vhhub.subject_identity.classes)}

# METADATA
# title: Registrant sees its own registration
# description: >-
#   The partner that registered the case takes part in it and stays responsible for what it
#   registered: while working on the case (not auditing) it sees those data in full.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (the source partner remains responsible) and AVG art. 16 (rectification)
registrant_sees_own_registration if {
	viewer_may_see_own_facts
	input.case.registered_by == input.viewer.partner
}

# METADATA
# title: Identity grants of the case's table
# description: The table's own grants when data.vhhub.subject_identity.tables names it, else the default.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (per table)
identity_grants := object.get(data.vhhub.subject_identity.tables, input.case.table, data.vhhub.subject_identity.default)

# METADATA
# title: Grant row of a viewer row
# description: >-
#   A row with its own grants uses them; a partner kind without its own grants uses the
#   participant row. The auditor row has none: auditors see no identifying data here.
# custom:
#   source: Privacyconvenant ZVH (deelnemers van een casus)
identity_row(row) := row if {
	identity_grants[row]
} else := "participant" if {
	data.vhhub.network.partner_kinds[row]
}

# METADATA
# title: Classes the viewer's rows grant
# description: The union over the viewer's rows of data.vhhub.subject_identity grants for the case's phase and the stated purpose.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (need to know per partner and phase)
identity_granted contains cls if {
	some row in viewer_rows
	some cls, _ in object.get(identity_grants, [identity_row(row), input.case.phase, input.purpose], {})
	data.vhhub.subject_identity.classes[cls]
}

# METADATA
# title: Viewer's kind has a legal basis for the BSN
# description: >-
#   Only partner kinds with a statutory basis to process the citizen service number
#   (data.vhhub.subject_identity.bsn_legal_basis_kinds) receive it.
# custom:
#   source: Wet algemene bepalingen burgerservicenummer art. 10 and UAVG art. 46
viewer_may_process_bsn if data.vhhub.subject_identity.bsn_legal_basis_kinds[input.viewer.partner_kind]

# METADATA
# title: BSN granted but capped
# description: A row grants the BSN, but the viewer's partner kind may not process it.
# custom:
#   source: Wet algemene bepalingen burgerservicenummer art. 10 and UAVG art. 46
bsn_capped if {
	"bsn" in identity_granted
	not viewer_may_process_bsn
}

# METADATA
# title: Classes released
# description: What the rows grant, without the BSN where it is capped.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
identity_released := identity_granted - {"bsn"} if bsn_capped else := identity_granted

# METADATA
# title: Reason of an identity grant
# description: A sentence naming the table, the phase and the purpose under which the data are shown.
# custom:
#   source: AVG art. 5(2) (accountability - every decision names why)
identity_grant_reason := concat("", [
	"At the ", input.case.table, " table in the ", input.case.phase, " phase, for the purpose ",
	input.purpose, ", the subjects' identifying data are shown as far as: ",
	concat(", ", sort([cls | some cls in identity_released])), ".",
])

# METADATA
# title: Identity grants nothing
# description: The reason when none of the viewer's rows grants any identifying data.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
identity_grants_nothing := concat("", [
	"At the ", input.case.table, " table in the ", input.case.phase,
	" phase no identifying data of the subjects are shown to this viewer for this purpose.",
])

# METADATA
# title: Rule that decides the identity disclosure
# description: >-
#   The case-level stage when it withholds everything; else the registrant's own
#   registration; else nothing granted; else a grant without the BSN; else the grant.
# custom:
#   source: Privacyconvenant ZVH and AVG art. 5(2) (accountability - every decision names why)
identity_rule := case_stage if {
	case_stage != "open"
} else := "registrant_sees_own_registration" if {
	registrant_sees_own_registration
} else := "identity_grants_nothing" if {
	count(identity_released) == 0
} else := "bsn_without_legal_basis" if {
	bsn_capped
} else := "identity_grant"

# METADATA
# title: Identity classes released
# description: Every class for the registrant's own registration, the grant for a grant, none otherwise; sorted.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
identity_classes := sort([c | some c in identity_all_classes]) if {
	identity_rule == "registrant_sees_own_registration"
} else := sort([c | some c in identity_released]) if {
	identity_rule in {"identity_grant", "bsn_without_legal_basis"}
} else := []

# METADATA
# title: Reason of the identity decision
# description: One sentence per deciding rule.
# custom:
#   source: AVG art. 5(2) (accountability - every decision names why)
identity_reason := case_stage_reasons[identity_rule] if {
	case_stage != "open"
} else := "The registering partner sees the identifying data and reason it registered itself." if {
	identity_rule == "registrant_sees_own_registration"
} else := identity_grants_nothing if {
	identity_rule == "identity_grants_nothing"
} else := concat("", [identity_grant_reason, " The BSN is left out: this partner kind has no legal basis to process it."]) if {
	identity_rule == "bsn_without_legal_basis"
} else := identity_grant_reason

# METADATA
# title: Identity decision
# description: >-
#   The identity classes released to the viewer (a subset of name, date_of_birth, address,
#   bsn and reason), the rule that decided and why. The registering partner sees what it
#   registered; everyone else what its rows are granted, without the BSN for a partner kind
#   without a legal basis to process it.
# custom:
#   source: Privacyconvenant ZVH and AVG art. 5(2) (accountability - every decision names why)
identity_decision := {"classes": identity_classes, "reason": identity_reason, "rule": identity_rule}
