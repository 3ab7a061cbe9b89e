# METADATA
# title: Who may publish which fact into a case
# description: >-
#   Data minimisation at the source - a partner publishes only fact types its kind may bring
#   to this table in this phase (data.vhhub.publishing), only into a case it takes part in
#   (or registers), with the publisher role and a purpose that fits the phase.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and Handvat gegevensdeling ZVH 2017 + addendum 2020
package vhhub.publish

import rego.v1

import data.vhhub.common

# METADATA
# title: Publish decision
# description: Allowed when no check fails; otherwise the first failing check's reason.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and Handvat gegevensdeling ZVH 2017 + addendum 2020
decision := {"allowed": false, "reason": reason} if {
	reason := denial
} else := {"allowed": true, "reason": "This partner kind may publish this fact type at this table in this phase."}

# METADATA
# title: First failing publish check
# description: The checks in the order a privacy officer would ask them.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and Handvat gegevensdeling ZVH 2017 + addendum 2020
denial := "The fact's type, life domain or sensitivity does not match the fact-type catalogue." if {
	not common.fact_matches_catalogue(input.fact)
} else := "The case's table or phase is unknown to the policy." if {
	not common.case_context_is_known
} else := "Nothing can be published into a closed case." if {
	common.case_is_closed
} else := "Publishing needs the publisher role." if {
	not "publisher" in input.viewer.roles
} else := "Only a participant of the case (or the partner registering it, during intake) may publish into it." if {
	not may_publish_into_case
} else := "The stated purpose does not fit the case's current phase." if {
	not common.purpose_serves_case_work
} else := "This partner kind may not publish this fact type at this table in this phase (data minimisation)." if {
	not kind_may_publish_type_here
}

# METADATA
# title: Viewer may publish into this case
# description: An invited participant, or the registering partner while the case is in intake.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (iedere sleutelpartner kan casuistiek inbrengen)
may_publish_into_case if common.is_participant

may_publish_into_case if is_registering_partner_in_intake

# METADATA
# title: Viewer is the registering partner during intake
# description: The partner named in case.registered_by, while the case is still in intake.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (instroom en selectie casuistiek)
is_registering_partner_in_intake if {
	input.case.phase == "intake"
	input.case.registered_by == input.viewer.partner
	data.vhhub.network.partner_kinds[input.viewer.partner_kind]
}

# METADATA
# title: Partner kind may publish this fact type here
# description: >-
#   The publishing matrix lists the type for this kind at this table in this phase, or the
#   type is generic (an involvement signal) and any partner kind may publish it in this phase.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and Handvat gegevensdeling ZVH 2017 + addendum 2020
kind_may_publish_type_here if {
	data.vhhub.publishing.by_table[input.case.table][input.viewer.partner_kind][input.fact.type][input.case.phase]
}

kind_may_publish_type_here if {
	data.vhhub.network.partner_kinds[input.viewer.partner_kind]
	data.vhhub.publishing.any_partner_kind[input.fact.type][input.case.phase]
}
