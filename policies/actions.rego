# METADATA
# title: Who may do what to a case
# description: >-
#   Case actions (register, screen, invite, move phases, close, read and record the plan),
#   access-log actions for auditors and policy actions for privacy officers. Each action's
#   roles, partner kinds, relation to the case, purposes and phases are data
#   (data.vhhub.action_rules); this file reads them by key.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (procesregie en casusregie) and AVG art. 5(1)(b)
package vhhub.actions

import rego.v1

import data.vhhub.common

# METADATA
# title: The action's rule
# description: The catalogue entry of the requested action; undefined for unknown actions.
# custom:
#   source: AVG art. 25 (data protection by default - what is not listed is not allowed)
action_rule := data.vhhub.action_rules[input.action]

# METADATA
# title: Action decision
# description: Allowed when no check fails; otherwise the first failing check's reason.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (procesregie en casusregie) and AVG art. 5(1)(b)
decision := {"allowed": false, "reason": reason} if {
	reason := denial
} else := {"allowed": true, "reason": concat("", ["Allowed: ", action_rule.description])}

# METADATA
# title: First failing action check
# description: The checks in order; the first that fails names the reason.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (procesregie en casusregie) and AVG art. 5(1)(b)
denial := "Unknown action; only actions in the action catalogue can be allowed." if {
	not action_is_known
} else := "The viewer holds none of the roles this action needs." if {
	not viewer_holds_a_required_role
} else := "The viewer's partner kind may not perform this action." if {
	not partner_kind_may_act
} else := "The stated purpose is not one this action serves." if {
	not action_rule.purposes[input.purpose]
} else := "This action needs a case." if {
	case_is_missing
} else := "The case's table or phase is unknown to the policy." if {
	case_is_checked
	not common.case_context_is_known
} else := "This action is not possible in the case's current phase." if {
	case_is_checked
	not action_rule.phases[input.case.phase]
} else := "The stated purpose does not fit the case's current phase." if {
	case_is_checked
	action_rule.purpose_must_fit_phase
	not common.purpose_serves_case_work
} else := "The viewer does not stand in the relation to this case that the action needs." if {
	case_is_checked
	not relation_holds
} else := "Only the meeting's chair or the person who scheduled it stands in this relation to it." if {
	action_rule.relation == "meeting_holder"
	not viewer_holds_the_meeting
} else := "A phase moves one step forward only, by a regisseur allowed to move it from the current phase." if {
	input.action == "change_phase"
	not phase_change_is_one_step_forward
}

# METADATA
# title: Action is in the catalogue
# description: Unknown actions are denied (fail closed).
# custom:
#   source: AVG art. 25 (data protection by default)
action_is_known if action_rule

# METADATA
# title: Viewer holds a required role
# description: At least one of the viewer's roles is among the action's roles.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (rollen in het Veiligheidshuis)
viewer_holds_a_required_role if {
	some role in input.viewer.roles
	action_rule.roles[role]
}

# METADATA
# title: Partner kind may act
# description: >-
#   The action is open to any partner kind, or the viewer's kind is in the named set
#   (for example key partners for registering a case, Veiligheidshuis staff for screening).
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (sleutelpartners; procesregie bij het Veiligheidshuispersoneel)
partner_kind_may_act if {
	action_rule.partner_kinds == "any"
	data.vhhub.network.partner_kinds[input.viewer.partner_kind]
}

partner_kind_may_act if data.vhhub.network.kind_sets[action_rule.partner_kinds][input.viewer.partner_kind]

# METADATA
# title: A needed case is missing
# description: The action works on a case but the request names none.
# custom:
#   source: AVG art. 5(1)(b) (purpose limitation - a case action is tied to one case)
case_is_missing if {
	action_rule.needs_case
	not is_object(input.case)
}

# METADATA
# title: Case checks apply
# description: A case is given and the action limits the phases it works in.
# custom:
#   source: AVG art. 5(1)(b) (purpose limitation per phase)
case_is_checked if {
	is_object(input.case)
	count(action_rule.phases) > 0
}

# METADATA
# title: Viewer stands in the needed relation to the case
# description: >-
#   None, the case's procesregisseur, its casusregisseur, either regisseur, a member
#   (participant or regisseur), "unassigned": the case has no procesregisseur yet (the
#   intake queue that Veiligheidshuis staff take cases from), "casusregisseur_or_owner":
#   the casusregisseur, or a member whose partner owns the target intervention, or
#   "partner_in_case": the viewer's organisation takes part in the case, "registrant",
#   a member of the partner that registered the case, or "member_or_auditor": a member, or
#   an auditor (who learns that a case was shredded, not what it held).
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (procesregie en casusregie) and Privacyconvenant ZVH (deelnemers)
relation_holds if action_rule.relation == "none"

relation_holds if {
	action_rule.relation == "procesregisseur"
	common.is_procesregisseur
}

relation_holds if {
	action_rule.relation == "casusregisseur"
	common.is_casusregisseur
}

relation_holds if {
	action_rule.relation == "regisseur"
	common.is_regisseur
}

relation_holds if {
	action_rule.relation == "member"
	common.is_member
}

relation_holds if {
	action_rule.relation == "unassigned"
	case_has_no_procesregisseur
}

relation_holds if {
	action_rule.relation == "casusregisseur_or_owner"
	common.is_casusregisseur
}

relation_holds if {
	action_rule.relation == "casusregisseur_or_owner"
	common.is_member
	target_is_owned_by_viewer
}

relation_holds if {
	action_rule.relation == "partner_in_case"
	partner_takes_part
}

relation_holds if {
	action_rule.relation == "member_or_auditor"
	common.is_member
}

relation_holds if {
	action_rule.relation == "member_or_auditor"
	common.acts_as_auditor
}

relation_holds if {
	action_rule.relation == "registrant"
	common.is_member
	input.case.registered_by == input.viewer.partner
}

# METADATA
# title: The viewer's organisation takes part in the case
# description: >-
#   The viewer's partner is invited to the case (not withdrawn), holds its procesregie or
#   casusregie, or is the Veiligheidshuis itself. Its privacy officer or auditor may then
#   review what the policy decides on the case; any other organisation learns nothing of it,
#   not even that it exists.
# custom:
#   source: AVG art. 5(1)(b) and (f) (purpose limitation, confidentiality) and Privacyconvenant ZVH (deelnemers van een casus)
partner_takes_part if input.case.participants[input.viewer.partner]

partner_takes_part if input.case.procesregisseur.partner == input.viewer.partner

partner_takes_part if input.case.casusregisseur.partner == input.viewer.partner

partner_takes_part if data.vhhub.network.kind_sets.zvh_staff[input.viewer.partner_kind]

# METADATA
# title: Viewer chairs or scheduled the meeting
# description: >-
#   The target meeting names the viewer (partner and user) as its chair or as the one who
#   scheduled it: they see the meeting's frame (table, time, place) before any case is on it.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (procesregie, het casusoverleg voorbereiden en voorzitten)
viewer_holds_the_meeting if {
	some holder in ["chair", "scheduled_by"]
	input.target[holder].partner == input.viewer.partner
	input.target[holder].user == input.viewer.user
}

# METADATA
# title: The target is owned by the viewer's partner
# description: >-
#   The action's target (an intervention of the plan) names the viewer's own partner as its
#   owner. The owner is read from the sealed plan by the disclosure door and passed as the
#   target; a missing owner never matches.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (plan van aanpak - elke partner voert de eigen interventies uit en rapporteert erover)
target_is_owned_by_viewer if {
	is_string(input.target.owner)
	input.target.owner == input.viewer.partner
}

# METADATA
# title: Case has no procesregisseur yet
# description: >-
#   Nobody has taken on the procesregie of this case: it waits in the intake queue, where
#   any procesregisseur of the Veiligheidshuis may see it in order to take it on.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (procesregie ligt bij het Veiligheidshuispersoneel)
case_has_no_procesregisseur if not is_object(input.case.procesregisseur)

# METADATA
# title: Phase change is one step forward
# description: >-
#   The target is the next phase after the current one, and the viewer is a regisseur who
#   may move the case out of its current phase (procesregisseur up to the case conference;
#   casusregisseur or procesregisseur from the case conference on).
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (aanmelding, triage, casusoverleg, plan van aanpak)
phase_change_is_one_step_forward if {
	step := data.vhhub.network.phases[input.case.phase]
	is_string(step.next)
	input.target.phase == step.next
	some role in regisseur_roles_held
	step.advanced_by[role]
}

# METADATA
# title: Regisseur roles the viewer holds on this case
# description: procesregisseur and/or casusregisseur, when the viewer is named as such on the case.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (procesregie en casusregie)
regisseur_roles_held contains "procesregisseur" if common.is_procesregisseur

regisseur_roles_held contains "casusregisseur" if common.is_casusregisseur
