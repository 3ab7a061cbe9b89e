# Reference copy of policies/disclosure.rego as it was before ADR 0020's policy rewrite
# (issue 22, target 3). NOT a policy: nothing loads it except
# tests/rego/test_policy_equivalence.py, which evaluates the shipped policy and this copy on
# the same inputs and requires identical decisions (level, fields, reason, rule), so the
# rewrite for speed is held to deciding exactly as before. Do not edit it to make that test
# pass: a change of what the policy decides is a policy change, reviewed as one, after which
# this reference (and the test) is retired or replaced on purpose.

# METADATA
# title: Purpose-limited disclosure of case facts
# description: >-
#   What one viewer of a case may see of each fact, for one purpose, in the case's current
#   phase. The rule decisions answers a whole batch of facts in one evaluation. The levels
#   come from the disclosure matrix (data.vhhub.matrix); this file only reads it, by key,
#   and applies the network's fixed limits on top. What depends only on the viewer and the
#   case is decided once per request (rules), what depends on the fact per fact (functions).
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 and AVG art. 5(1)(b) (purpose limitation)
package vhhub.disclosure

import rego.v1

import data.vhhub.common

# METADATA
# title: Decisions for a batch of facts
# description: >-
#   One answer per input fact id - level, released fields, reason and the deciding rule.
#   Every fact gets an entry; when nothing applies the level is none.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (need to know per partner)
decisions := {fact_id: decision(fact) | some fact_id; fact := input.facts[fact_id]}

# METADATA
# title: Decision for one fact
# description: >-
#   The fact must match the catalogue and the request must pass the case-level checks
#   (see case_stage); then the publisher sees its own facts in full, and everyone else
#   gets what the matrix grants, limited by the network's caps.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 and AVG art. 25 (data protection by default)
decision(fact) := withheld("fact_not_in_catalogue", "This fact's type, life domain or sensitivity does not match the policy's fact-type catalogue, so it is withheld (fail closed).") if {
	fact_not_in_catalogue(fact)
} else := withheld(case_stage, case_stage_reasons[case_stage]) if {
	case_stage != "open"
} else := own_fact(fact) if {
	publisher_sees_own(fact)
} else := matrix_decision(fact)

# ---------------------------------------------------------------------------------------
# Case-level checks: decided once per request.
# ---------------------------------------------------------------------------------------

# METADATA
# title: Case-level stage of the request
# description: >-
#   Decided once per request, for all facts alike - an unknown table or phase, a closed
#   case outside audit, a viewer without standing, or a purpose that does not fit the
#   phase each withhold every fact; otherwise the request is open for per-fact decisions.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (doelbinding per fase) and AVG art. 25
case_stage := "unknown_case_context" if {
	unknown_case_context
} else := "case_closed_withheld" if {
	case_closed_withheld
} else := "not_a_participant" if {
	not_a_participant
} else := "purpose_does_not_fit_phase" if {
	purpose_does_not_fit_phase
} else := "open"

# METADATA
# title: Reasons for the case-level stages
# description: One sentence per stage that withholds every fact.
# custom:
#   source: AVG art. 5(2) (accountability - every decision names why)
case_stage_reasons := {
	"unknown_case_context": "The case's table or phase is unknown to the policy, so nothing is shown (fail closed).",
	"case_closed_withheld": "The case is closed: its facts are no longer shown, except to an auditor as existence only.",
	"not_a_participant": "Only invited participants and the case's regisseurs see anything of a case.",
	"purpose_does_not_fit_phase": "The stated purpose does not fit the case's current phase, so nothing is shown.",
}

# METADATA
# title: Unknown case context
# description: The case's table or phase is not in the network data (fail closed).
# custom:
#   source: AVG art. 25 (data protection by default)
unknown_case_context if not common.case_context_is_known

# METADATA
# title: Closed case withholds everything outside audit
# description: After closing, facts are shown for the purpose audit only, and then as existence only.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (afschaling) and AVG art. 5(1)(e) (storage limitation)
case_closed_withheld if {
	common.case_is_closed
	not common.purpose_is_audit
}

# METADATA
# title: Viewer is not a participant
# description: No matrix row applies - the viewer is neither invited nor a regisseur of the case, nor an auditor.
# custom:
#   source: Privacyconvenant ZVH (only the partners invited to a case take part in it)
not_a_participant if not viewer_has_standing

# METADATA
# title: Purpose does not fit the phase
# description: The stated purpose is not one the network allows in the case's current phase.
# custom:
#   source: AVG art. 5(1)(b) (purpose limitation)
purpose_does_not_fit_phase if not common.purpose_fits_phase

# METADATA
# title: Matrix rows that apply to the viewer
# description: >-
#   The viewer's partner kind when it is an invited participant, plus the rows of the case
#   roles it holds (procesregisseur, casusregisseur) and the auditor row. Privacy officers
#   have no row - they review policies, not cases.
# custom:
#   source: Privacyconvenant ZVH (deelnemers van een casus) and Landelijk kader Veiligheidshuizen 2013 (procesregie en casusregie)
viewer_rows contains input.viewer.partner_kind if common.is_participant

viewer_rows contains "procesregisseur" if common.is_procesregisseur

viewer_rows contains "casusregisseur" if common.is_casusregisseur

viewer_rows contains "auditor" if common.acts_as_auditor

# METADATA
# title: Viewer has standing in the case
# description: At least one matrix row applies; otherwise the viewer sees nothing of the case.
# custom:
#   source: Privacyconvenant ZVH (only the partners invited to a case take part in it)
viewer_has_standing if count(viewer_rows) > 0

# METADATA
# title: Matrix cells of the viewer's rows
# description: >-
#   For each applicable row, the profile named in
#   data.vhhub.matrix[table][row][phase][purpose], looked up by key. Rows without a cell
#   grant nothing.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (need to know per partner and phase)
viewer_profiles := {row: profile |
	some row in viewer_rows
	profile := object.get(data.vhhub.matrix, [input.case.table, row, input.case.phase, input.purpose], null)
	profile != null
}

# METADATA
# title: Viewer may see its own facts
# description: An invited participant working on the case (not auditing, not listing its caseload) sees what its own partner published.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (the source partner remains responsible)
viewer_may_see_own_facts if {
	common.is_participant
	not common.purpose_is_audit
	not common.purpose_is_overview
}

# METADATA
# title: Viewer's kind is capped for special-category data
# description: Police and prosecution, in the shipped data (data.vhhub.network.special_category_capped_kinds).
# custom:
#   source: AVG art. 9 (special categories of personal data)
viewer_kind_capped_for_special_data if data.vhhub.network.special_category_capped_kinds[input.viewer.partner_kind]

# METADATA
# title: Viewer is outside the justice chain
# description: >-
#   The viewer's partner kind is not police, prosecution, probation, custodial institutions
#   or child protection (data.vhhub.network.justice_kinds).
# custom:
#   source: AVG art. 10 (personal data relating to criminal convictions and offences)
viewer_outside_justice_chain if not data.vhhub.network.justice_kinds[input.viewer.partner_kind]

# METADATA
# title: Viewer has a care or a justice task
# description: >-
#   The viewer's partner kind gives care (GGZ, youth care, Veilig Thuis, social work, in
#   data.vhhub.network.care_kinds) or belongs to the justice chain (data.vhhub.network.justice_kinds).
#   Only such partners may process health data for their care or criminal data for their
#   statutory task; the municipality, housing corporations and Veiligheidshuis staff may not.
# custom:
#   source: AVG art. 9(2)(h) and 10 with UAVG art. 30 and 31-33 (who may process health and criminal data for their task)
viewer_has_care_or_justice_task if data.vhhub.network.care_kinds[input.viewer.partner_kind]

viewer_has_care_or_justice_task if data.vhhub.network.justice_kinds[input.viewer.partner_kind]

# METADATA
# title: Viewer has neither a care nor a justice task
# description: >-
#   The viewer's partner kind is in neither data.vhhub.network.care_kinds nor
#   data.vhhub.network.justice_kinds (an unknown kind counts as having no such task).
# custom:
#   source: AVG art. 9 and 10 with UAVG art. 30 and 31-33
viewer_without_care_or_justice_task if not viewer_has_care_or_justice_task

# ---------------------------------------------------------------------------------------
# Per-fact decisions.
# ---------------------------------------------------------------------------------------

# METADATA
# title: Fact not in the catalogue
# description: The fact's type, domain or sensitivity does not match the fact-type catalogue; it is withheld (fail closed).
# custom:
#   source: AVG art. 25 (data protection by default) and AVG art. 5(1)(d) (accuracy)
fact_not_in_catalogue(fact) if catalogue_fit(fact) == "does_not_fit"

# METADATA
# title: Catalogue fit of a fact
# description: A value rather than a negation, so the check stays cheap per fact.
# custom:
#   source: AVG art. 25 (data protection by default)
catalogue_fit(fact) := "fits" if common.fact_matches_catalogue(fact) else := "does_not_fit"

# METADATA
# title: Publisher sees its own facts
# description: >-
#   The partner that published a fact stays responsible for it and always sees it in full,
#   with every field, while it takes part in the case for case work.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (the source partner remains responsible)
publisher_sees_own(fact) if {
	viewer_may_see_own_facts
	fact.publisher == input.viewer.partner
}

# METADATA
# title: Fact is special-category data
# description: >-
#   Its fact type is special category in the catalogue, or the kind of partner that published
#   it publishes special-category data by default (data.vhhub.network.publisher_default_sensitivity,
#   the care partners GGZ, youth care and Veilig Thuis, and the child protection board). A
#   care relationship is health data whatever life domain the publisher picks, so a GGZ
#   involvement signal on safety is special-category data too.
# custom:
#   source: AVG art. 9(1) and art. 4(15) with recital 35 (health data includes that care is provided)
fact_is_special(fact) if fact.sensitivity == "special"

fact_is_special(fact) if {
	data.vhhub.network.publisher_default_sensitivity[fact.publisher_kind] == "special"
	not sensitivity_is_stated(fact)
}

fact_is_special(fact) if {
	some cited in object.get(fact, "cites", [])
	cited_is_special(cited)
}

# METADATA
# title: Cited fact is special-category data
# description: >-
#   A fact a plan note is written from is special category by its type or by its publisher's
#   kind (as in fact_is_special); the note then is too, whatever its writer marked.
# custom:
#   source: AVG art. 9(1) (a text derived from health data is health data)
cited_is_special(cited) if cited.sensitivity == "special"

cited_is_special(cited) if data.vhhub.network.publisher_default_sensitivity[cited.publisher_kind] == "special"

# METADATA
# title: The fact states its own sensitivity
# description: >-
#   Its type says each fact states its own sensitivity (fact_types.sensitivity_stated, from
#   the schema's x-sensitivity-stated): plan notes, which a casusregisseur writes for the
#   whole table. The writer's partner kind does not raise it; the facts it cites do.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (casusregie namens de casustafel) and AVG art. 9 and 10
sensitivity_is_stated(fact) if data.vhhub.fact_types[fact.type].sensitivity_stated == true

# METADATA
# title: Fact is criminal-law data
# description: >-
#   Its fact type is criminal in the catalogue, or the kind of partner that published it
#   publishes criminal-law data by default (data.vhhub.network.publisher_default_sensitivity,
#   police, prosecution, probation and custodial institutions). What the police or the OM
#   register about a person is criminal-law data whatever type or domain it is filed under.
# custom:
#   source: AVG art. 10 with UAVG art. 1 (strafrechtelijke persoonsgegevens), Wet politiegegevens and Wjsg
fact_is_criminal(fact) if fact.sensitivity == "criminal"

fact_is_criminal(fact) if {
	data.vhhub.network.publisher_default_sensitivity[fact.publisher_kind] == "criminal"
	not sensitivity_is_stated(fact)
}

fact_is_criminal(fact) if {
	some cited in object.get(fact, "cites", [])
	cited_is_criminal(cited)
}

# METADATA
# title: Cited fact is criminal-law data
# description: >-
#   A fact a plan note is written from is criminal-law data by its type or by its publisher's
#   kind (as in fact_is_criminal); the note then is too, whatever its writer marked.
# custom:
#   source: AVG art. 10 (a text derived from criminal-law data is criminal-law data)
cited_is_criminal(cited) if cited.sensitivity == "criminal"

cited_is_criminal(cited) if data.vhhub.network.publisher_default_sensitivity[cited.publisher_kind] == "criminal"

# METADATA
# title: Special-category data withheld beyond summary
# description: >-
#   Special-category data (by its type or its publisher, see fact_is_special) reaches police
#   and prosecution as a summary at most, unless the publisher marked the fact shareable.
# custom:
#   source: AVG art. 9 (special categories of personal data)
special_category_withheld(fact) if {
	fact_is_special(fact)
	viewer_kind_capped_for_special_data
	object.get(fact, "shareable", false) != true
}

# METADATA
# title: Special-category data outside care and justice
# description: >-
#   Special-category data (by its type or its publisher) reaches partners with neither a
#   care nor a justice task (municipality, housing corporation, Veiligheidshuis staff) as a
#   summary at most, unless the publisher marked the fact shareable.
# custom:
#   source: AVG art. 9(1) and 9(2)(h) with UAVG art. 30 (health data only for care and the statutory tasks named there)
special_category_outside_care_and_justice(fact) if {
	fact_is_special(fact)
	viewer_without_care_or_justice_task
	object.get(fact, "shareable", false) != true
}

# METADATA
# title: Criminal-law data outside the justice chain
# description: >-
#   Criminal-law data (by its type or its publisher, see fact_is_criminal) reaches partners
#   outside the justice chain (police, prosecution, probation, custodial institutions, child
#   protection) as a summary at most.
# custom:
#   source: AVG art. 10 (personal data relating to criminal convictions and offences)
criminal_data_outside_justice_chain(fact) if {
	fact_is_criminal(fact)
	viewer_outside_justice_chain
}

# METADATA
# title: Decision from the matrix, with the network's caps
# description: >-
#   The highest level any of the viewer's rows grants, lowered by the audit cap, the
#   special-category cap or the criminal-data cap where those apply.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (need to know), AVG art. 9 and 10
matrix_decision(fact) := answer if {
	ranks := {row: data.vhhub.network.level_rank[profile_level(profile, fact)] | some row; profile := viewer_profiles[row]}
	answer := capped_decision(fact, ranks, highest_rank(ranks))
}

# METADATA
# title: Granted level lowered by the caps
# description: >-
#   Nothing granted gives none; otherwise the first cap that lowers the granted rank decides
#   (audit, special category for police and prosecution, special category outside care and
#   justice, criminal data outside the justice chain), and without a cap the grant stands.
# custom:
#   source: AVG art. 9 (special categories), AVG art. 10 (criminal data) and AVG art. 5(2) (accountability)
capped_decision(fact, ranks, rank) := withheld("matrix_grants_nothing", matrix_grants_nothing(fact)) if {
	rank == 0
} else := shown(fact, 1, "auditor_sees_existence_only", "Auditors see only that a fact exists, never its content.") if {
	auditor_sees_existence_only
	rank > 1
} else := shown(fact, 2, "special_category_withheld", "Special-category data (AVG art. 9, by its fact type or its publisher) reaches police and prosecution as a summary at most, unless the publisher marked it shareable.") if {
	special_category_withheld(fact)
	rank > 2
} else := shown(fact, 2, "special_category_outside_care_and_justice", "Special-category data (AVG art. 9, by its fact type or its publisher) reaches partners without a care or justice task as a summary at most, unless the publisher marked it shareable.") if {
	special_category_outside_care_and_justice(fact)
	rank > 2
} else := shown(fact, 2, "criminal_data_outside_justice_chain", "Criminal-law data (AVG art. 10, by its fact type or its publisher) reaches partners outside the justice chain as a summary at most.") if {
	criminal_data_outside_justice_chain(fact)
	rank > 2
} else := shown(fact, rank, "matrix_grant", matrix_grant(fact, ranks, rank))

# METADATA
# title: Auditor sees existence only
# description: For the purpose audit nothing beyond existence is shown, whatever the matrix says.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and AVG art. 5(2) (accountability)
auditor_sees_existence_only if common.purpose_is_audit

# METADATA
# title: Level a profile gives a fact
# description: A fact-type entry wins over a life-domain entry, which wins over the profile's level for other domains.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
profile_level(name, fact) := level if {
	profile := data.vhhub.profiles[name]
	level := object.get(profile.fact_types, fact.type, object.get(profile.domains, fact.domain, profile.other_domains))
}

# METADATA
# title: Highest rank granted
# description: The most any applicable row grants; zero when no row grants anything.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (need to know per partner and phase)
highest_rank(ranks) := max([rank | some row; rank := ranks[row]]) if {
	count(ranks) > 0
} else := 0

# METADATA
# title: Matrix grant
# description: >-
#   The reason for a level the matrix grants - a sentence naming the table, the phase, the
#   row that granted it (the first alphabetically when several do), the level and the profile.
# custom:
#   source: AVG art. 5(2) (accountability - every decision names why)
matrix_grant(fact, ranks, rank) := concat("", [
	"At the ", input.case.table, " table in the ", input.case.phase, " phase the disclosure matrix gives ",
	row, " ", data.vhhub.network.level_names[rank], " on ", fact.domain, " facts (profile ", viewer_profiles[row], ").",
]) if {
	row := sort([candidate | some candidate; ranks[candidate] == rank])[0]
}

# METADATA
# title: Matrix grants nothing
# description: The reason when none of the viewer's matrix cells grants anything for this fact.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
matrix_grants_nothing(fact) := concat("", [
	"The disclosure matrix grants this viewer nothing on ", fact.domain, " facts at the ",
	input.case.table, " table in the ", input.case.phase, " phase for this purpose.",
])

# ---------------------------------------------------------------------------------------
# Answers.
# ---------------------------------------------------------------------------------------

# METADATA
# title: The publisher's own fact in full
# description: Level full with every field of the fact, including those never shared with others.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (the source partner remains responsible)
own_fact(fact) := {
	"level": "full",
	"fields": sort([field | some field; fact.fields[field]]),
	"reason": "The publishing partner always sees its own facts in full.",
	"rule": "publisher_sees_own",
}

# METADATA
# title: A fact withheld
# description: Level none, no fields.
# custom:
#   source: AVG art. 25 (data protection by default)
withheld(rule, reason) := {"level": "none", "fields": [], "reason": reason, "rule": rule}

# METADATA
# title: A fact shown at a level
# description: The level's name and the fields that level releases.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
shown(fact, rank, rule, reason) := {
	"level": level,
	"fields": released_fields(fact, level),
	"reason": concat("", [reason, revealing_note(fact, level)]),
	"rule": rule,
} if {
	level := data.vhhub.network.level_names[rank]
}

# METADATA
# title: Fields a level releases
# description: >-
#   Summary releases summary-class fields; full releases summary- and full-class fields.
#   Never-class fields and the catalogue's never-shared fields are never released here, nor
#   are revealing fields in a summary for a partner without a care or justice task.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and AVG art. 9 (for example a diagnosis)
released_fields(fact, level) := fields if {
	classes := data.vhhub.network.released_field_classes[level]
	entry := data.vhhub.fact_types[fact.type]
	fields := sort([field |
		some field
		field_class := fact.fields[field]
		classes[field_class]
		not entry.never_shared[field]
		not revealing_field_withheld(entry, level, field)
	])
}

# METADATA
# title: Revealing field withheld from a summary
# description: >-
#   A summary for a partner with neither a care nor a justice task leaves out the fields that
#   make a diagnosis, an offence category or a procedural role known (the catalogue's reveals,
#   generated from the schemas' x-reveals), such as a police incident's category and the
#   subject's role in it. Such a partner learns that the fact exists and when, not what it says.
# custom:
#   source: AVG art. 9 and 10 with art. 5(1)(c) (data minimisation)
revealing_field_withheld(entry, level, field) if {
	level == "summary"
	viewer_without_care_or_justice_task
	entry.reveals[field]
}

# METADATA
# title: Note on revealing fields left out
# description: >-
#   The sentence added to a decision's reason when revealing fields the level would otherwise
#   release were left out of a summary (see revealing_field_withheld); empty otherwise.
# custom:
#   source: AVG art. 5(2) (accountability - every decision names why)
revealing_note(fact, level) := concat("", [
	" Left out of this summary because they would make a diagnosis, an offence category or a",
	" procedural role known to a partner without a care or justice task: ",
	concat(", ", left_out), ".",
]) if {
	level == "summary"
	viewer_without_care_or_justice_task
	entry := data.vhhub.fact_types[fact.type]
	count(entry.reveals) > 0
	classes := data.vhhub.network.released_field_classes[level]
	left_out := sort([field |
		some field
		field_class := fact.fields[field]
		classes[field_class]
		not entry.never_shared[field]
		revealing_field_withheld(entry, level, field)
	])
	count(left_out) > 0
} else := ""
