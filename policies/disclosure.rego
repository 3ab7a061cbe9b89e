# METADATA
# title: Purpose-limited disclosure of case facts
# description: >-
#   What one viewer of a case may see of each fact, for one purpose, in the case's current
#   phase. The rule decisions answers a whole batch of facts in one evaluation. The levels
#   come from the disclosure matrix (data.vhhub.matrix); this file only reads it, by key,
#   and applies the network's fixed limits on top. What depends only on the viewer and the
#   case is decided once per request (rules); what depends on a few fact attributes is decided
#   once per distinct value of those attributes in the request (rules over the input's
#   distinct values: the catalogue check and the matrix grant per type, domain and
#   sensitivity, the released fields per type, field list and level); what depends on the
#   whole fact per fact (functions).
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
	# asked here first as well, so that other partners' facts skip the call (ADR 0020)
	fact.publisher == input.viewer.partner
	publisher_sees_own(fact)
} else := matrix_decision(fact, grant.rank, grant.reason) if {
	grant := matrix_grants[[fact.type, fact.domain, fact.sensitivity]]
}

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
# Decided once per distinct value in the request.
#
# Why: regorus does not remember a function's value, so a function called per fact repeats
# its work for every fact that shares the attributes it reads (ADR 0020). The rules below
# hold one entry per distinct value that occurs in this request's facts; regorus evaluates
# each rule once per evaluation, and a fact then looks its entry up by the attributes it was
# built from. They are partial rules over the distinct values rather than comprehensions:
# rego-cpp (the cross-check engine) evaluates a looked-up partial rule for the one key asked,
# but copies a whole complete rule for every lookup. Nothing outlives the evaluation.
#
# The network tables read here per fact or per value (level_rank, level_names, fact_types,
# released_field_classes) are rules as well: regorus resolves a data path anew at every use,
# through every module, and a rule's value once (ADR 0020 section 13).
# ---------------------------------------------------------------------------------------

# METADATA
# title: Catalogue keys that fit the catalogue
# description: >-
#   The distinct (type, life domain, sensitivity) triples of the request's facts that match
#   the fact-type catalogue (common.fact_matches_catalogue), decided once per triple. These
#   three are all the catalogue check reads of a fact; a fact without one of them has no
#   triple and so does not fit.
# custom:
#   source: AVG art. 25 (data protection by default) and AVG art. 5(1)(d) (accuracy)
catalogue_fits contains key if {
	some key in request_catalogue_keys
	common.fact_matches_catalogue({"type": key[0], "domain": key[1], "sensitivity": key[2]})
}

# METADATA
# title: Catalogue keys of the request's facts
# description: >-
#   The distinct (type, life domain, sensitivity) triples of the request's facts: all that
#   the catalogue check and the matrix grant read of a fact.
# custom:
#   source: AVG art. 25 (data protection by default)
request_catalogue_keys := {[fact.type, fact.domain, fact.sensitivity] | some fact in input.facts}

# METADATA
# title: Type and field lists of the request's facts
# description: >-
#   The distinct (type, fields) pairs of the request's facts, a fact without fields counting
#   as one with none: all that the released fields and the revealing note read of a fact.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
request_type_fields := {pair | some fact in input.facts; type := fact.type; pair := [type, object.get(fact, "fields", {})]}

# METADATA
# title: Matrix grant per catalogue key
# description: >-
#   For each fitting (type, life domain, sensitivity) triple of the request, the highest rank
#   the viewer's rows grant and the sentence that names it (matrix_grant, or
#   matrix_grants_nothing when no row grants anything), decided once per triple. A profile
#   reads only a fact's type and domain (profile_level).
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (need to know per partner and phase)
matrix_grants[key] := grant if {
	some key in catalogue_fits
	grant := key_grant({"type": key[0], "domain": key[1]})
}

# METADATA
# title: Grant for a type and domain
# description: >-
#   Per matrix row of the viewer, the rank of the level its profile gives facts of this type
#   and life domain (profile_level); the highest of them, and matrix_grant for the row that
#   grants it (the first alphabetically when several do); rank zero and
#   matrix_grants_nothing when no row grants anything. Written as matrix_decision was before
#   ADR 0020 (a fact-like object, the profile by name, the ranks as an object): rego-cpp, the
#   cross-check engine, returns stale comprehension results when it iterates a rule of
#   profiles here, crashes on a comprehension of [rank, row] pairs, and answered otherwise
#   than regorus when the row was taken from the least [minus rank, row] pair.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (need to know per partner and phase)
key_grant(fact) := {"rank": rank, "reason": matrix_grant(fact.domain, row, rank)} if {
	ranks := {viewer_row: level_rank[profile_level(data.vhhub.profiles[name], fact)] |
		some viewer_row
		name := viewer_profiles[viewer_row]
	}
	rank := max([granted | some granted_row; granted := ranks[granted_row]])
	rank != 0
	row := min([candidate | some candidate; ranks[candidate] == rank])
} else := {"rank": 0, "reason": matrix_grants_nothing(fact.domain)}

# METADATA
# title: Rank of each level
# description: The network's level_rank (none 0, existence 1, summary 2, full 3), read once per request.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
level_rank := data.vhhub.network.level_rank

# METADATA
# title: Fact-type catalogue
# description: The catalogue of fact types (data.vhhub.fact_types), read once per request.
# custom:
#   source: AVG art. 25 (data protection by default) and AVG art. 5(1)(c) (data minimisation)
fact_types := data.vhhub.fact_types

# METADATA
# title: Field classes each level releases
# description: The network's released_field_classes (which disclosure classes of fields a level releases), read once per request.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
released_field_classes := data.vhhub.network.released_field_classes

# METADATA
# title: Name of each rank
# description: The network's level_names (the inverse of level_rank), read once per request.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
level_names := data.vhhub.network.level_names

# METADATA
# title: Released fields and revealing note per type, field list and rank
# description: >-
#   For each distinct (type, fields) pair of the request's facts (request_type_fields) and
#   each rank a fact of that type can be shown at (release_ranks), the level's name, the
#   fields it releases (released_fields) and the note on revealing fields left out
#   (revealing_note), decided once per pair and rank. The type, the field list and the level
#   are all these read of a fact.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and AVG art. 9 (for example a diagnosis)
level_releases[[type, fields, rank]] := release if {
	some [type, fields] in request_type_fields
	entry := fact_types[type]
	some rank, level in level_names
	release_ranks[[type, rank]]
	release := level_release(entry, fields, level)
}

# METADATA
# title: Ranks the facts of a type can be shown at
# description: >-
#   The (type, rank) pairs matrix_decision can show a fact of this request at, given the
#   grants of this request (matrix_grants, per type, domain and sensitivity): a granted rank
#   above none, summary where a cap can lower a full grant, existence where the audit cap can
#   lower a grant above it. level_releases is worked out for these pairs only, so no entry is
#   built that no fact can look up.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
release_ranks contains [key[0], rank] if {
	some key
	rank := matrix_grants[key].rank
	rank > 0
}

release_ranks contains [key[0], 2] if {
	some key
	matrix_grants[key].rank > 2
}

release_ranks contains [key[0], 1] if {
	auditor_sees_existence_only
	some key
	matrix_grants[key].rank > 1
}

# METADATA
# title: What a level releases of a type and field list
# description: >-
#   The level's name, the fields it releases (released_fields) and the note on revealing
#   fields left out (revealing_note), with the revealing fields withheld at this level
#   (revealing_field_withheld) worked out once for both. Those are withheld only from a
#   summary for a viewer without a care or justice task; at any other level, or for any other
#   viewer, none is, and there is no note.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and AVG art. 9 (for example a diagnosis)
level_release(entry, fields, level) := release if {
	level == "summary"
	viewer_without_care_or_justice_task
	hidden := {field | some field; entry.reveals[field]; revealing_field_withheld(entry, level, field)}
	release := {
		"level": level,
		"fields": released_fields(entry, fields, level, hidden),
		"note": revealing_note(entry, fields, level, hidden),
	}
} else := {"level": level, "fields": released_fields(entry, fields, level, set()), "note": ""}

# METADATA
# title: Fact types that state their own sensitivity
# description: >-
#   The catalogue's types whose facts each state their own sensitivity (fact_types.sensitivity_stated,
#   from the schema's x-sensitivity-stated): plan notes, which a casusregisseur writes for the
#   whole table. The writer's partner kind does not raise them; the facts they cite do.
# custom:
#   source: Landelijk kader Veiligheidshuizen 2013 (casusregie namens de casustafel) and AVG art. 9 and 10
sensitivity_stated_types := {type | some type; data.vhhub.fact_types[type].sensitivity_stated == true}

# METADATA
# title: Sensitivity a partner kind publishes by default
# description: The network's publisher_default_sensitivity, read once per request.
# custom:
#   source: AVG art. 9(1) and art. 4(15) with recital 35, AVG art. 10 with UAVG art. 1
publisher_default_sensitivity := data.vhhub.network.publisher_default_sensitivity

# ---------------------------------------------------------------------------------------
# Per-fact decisions.
# ---------------------------------------------------------------------------------------

# METADATA
# title: Fact not in the catalogue
# description: The fact's type, domain or sensitivity does not match the fact-type catalogue; it is withheld (fail closed).
# custom:
#   source: AVG art. 25 (data protection by default) and AVG art. 5(1)(d) (accuracy)
fact_not_in_catalogue(fact) if not catalogue_fits[[fact.type, fact.domain, fact.sensitivity]]

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
#   involvement signal on safety is special-category data too. A fact of a type that states
#   its own sensitivity (sensitivity_stated_types) is not raised by its publisher's kind.
# custom:
#   source: AVG art. 9(1) and art. 4(15) with recital 35 (health data includes that care is provided)
fact_is_special(fact) := true if {
	fact.sensitivity == "special"
} else := true if {
	publisher_default_sensitivity[fact.publisher_kind] == "special"
	not sensitivity_stated_types[fact.type]
} else := true if {
	some cited in fact.cites
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
# title: Fact is criminal-law data
# description: >-
#   Its fact type is criminal in the catalogue, or the kind of partner that published it
#   publishes criminal-law data by default (data.vhhub.network.publisher_default_sensitivity,
#   police, prosecution, probation and custodial institutions). What the police or the OM
#   register about a person is criminal-law data whatever type or domain it is filed under.
#   A fact of a type that states its own sensitivity (sensitivity_stated_types) is not
#   raised by its publisher's kind.
# custom:
#   source: AVG art. 10 with UAVG art. 1 (strafrechtelijke persoonsgegevens), Wet politiegegevens and Wjsg
fact_is_criminal(fact) := true if {
	fact.sensitivity == "criminal"
} else := true if {
	publisher_default_sensitivity[fact.publisher_kind] == "criminal"
	not sensitivity_stated_types[fact.type]
} else := true if {
	some cited in fact.cites
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
	viewer_kind_capped_for_special_data
	object.get(fact, "shareable", false) != true
	fact_is_special(fact)
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
	viewer_without_care_or_justice_task
	object.get(fact, "shareable", false) != true
	fact_is_special(fact)
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
	viewer_outside_justice_chain
	fact_is_criminal(fact)
}

# METADATA
# title: Decision from the matrix, with the network's caps
# description: >-
#   The highest level any of the viewer's rows grants (its rank and reason from matrix_grants,
#   once per type, domain and sensitivity), lowered by the caps: nothing granted gives none;
#   otherwise the first cap that lowers the granted rank decides (audit, special category for
#   police and prosecution, special category outside care and justice, criminal data outside
#   the justice chain), and without a cap the grant stands. Each cap's condition on the viewer
#   is asked before the cap itself (which asks it again), so that a fact skips the call when
#   the cap cannot apply to this viewer.
# custom:
#   source: Handvat gegevensdeling ZVH 2017 + addendum 2020 (need to know), AVG art. 9 and 10
matrix_decision(fact, rank, reason) := withheld("matrix_grants_nothing", reason) if {
	rank == 0
} else := shown(fact, 1, "auditor_sees_existence_only", "Auditors see only that a fact exists, never its content.") if {
	rank > 1
	auditor_sees_existence_only
} else := shown(fact, 2, "special_category_withheld", "Special-category data (AVG art. 9, by its fact type or its publisher) reaches police and prosecution as a summary at most, unless the publisher marked it shareable.") if {
	rank > 2
	viewer_kind_capped_for_special_data
	special_category_withheld(fact)
} else := shown(fact, 2, "special_category_outside_care_and_justice", "Special-category data (AVG art. 9, by its fact type or its publisher) reaches partners without a care or justice task as a summary at most, unless the publisher marked it shareable.") if {
	rank > 2
	viewer_without_care_or_justice_task
	special_category_outside_care_and_justice(fact)
} else := shown(fact, 2, "criminal_data_outside_justice_chain", "Criminal-law data (AVG art. 10, by its fact type or its publisher) reaches partners outside the justice chain as a summary at most.") if {
	rank > 2
	viewer_outside_justice_chain
	criminal_data_outside_justice_chain(fact)
} else := shown(fact, rank, "matrix_grant", reason)

# METADATA
# title: Auditor sees existence only
# description: For the purpose audit nothing beyond existence is shown, whatever the matrix says.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and AVG art. 5(2) (accountability)
auditor_sees_existence_only if common.purpose_is_audit

# METADATA
# title: Level a profile gives a fact
# description: >-
#   A fact-type entry wins over a life-domain entry, which wins over the profile's level for
#   other domains. The profile is the one a viewer's matrix cell names (key_grant); only the
#   fact's type and domain matter (key_grant passes just those).
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
profile_level(profile, fact) := object.get(profile.fact_types, fact.type, object.get(profile.domains, fact.domain, profile.other_domains))

# METADATA
# title: Matrix grant
# description: >-
#   The reason for a level the matrix grants - a sentence naming the table, the phase, the
#   row that granted it (the first alphabetically when several do), the level and the profile.
# custom:
#   source: AVG art. 5(2) (accountability - every decision names why)
matrix_grant(domain, row, rank) := concat("", [
	grant_sentence_start, row, " ", level_names[rank], " on ", domain,
	" facts (profile ", viewer_profiles[row], ").",
])

# METADATA
# title: Start of the matrix grant's sentence
# description: The part of matrix_grant that names the table and the phase, once per request.
# custom:
#   source: AVG art. 5(2) (accountability - every decision names why)
grant_sentence_start := concat("", [
	"At the ", input.case.table, " table in the ", input.case.phase, " phase the disclosure matrix gives ",
])

# METADATA
# title: Matrix grants nothing
# description: The reason when none of the viewer's matrix cells grants anything for facts of this life domain.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
matrix_grants_nothing(domain) := concat("", [
	"The disclosure matrix grants this viewer nothing on ", domain, " facts at the ",
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
# description: >-
#   The level's name and the fields that level releases, with the note on revealing fields
#   left out (level_releases, once per type, field list and rank).
# custom:
#   source: AVG art. 5(1)(c) (data minimisation)
shown(fact, rank, rule, reason) := {
	"level": release.level,
	"fields": release.fields,
	"reason": concat("", [reason, release.note]),
	"rule": rule,
} if {
	release := level_releases[[fact.type, object.get(fact, "fields", {}), rank]]
}

# METADATA
# title: Fields a level releases
# description: >-
#   Summary releases summary-class fields; full releases summary- and full-class fields.
#   Never-class fields and the catalogue's never-shared fields are never released here, nor
#   are revealing fields in a summary for a partner without a care or justice task.
# custom:
#   source: AVG art. 5(1)(c) (data minimisation) and AVG art. 9 (for example a diagnosis)
released_fields(entry, fact_fields, level, hidden) := fields if {
	classes := released_field_classes[level]
	fields := sort([field |
		some field
		field_class := fact_fields[field]
		classes[field_class]
		not entry.never_shared[field]
		not hidden[field]
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
revealing_note(entry, fact_fields, level, hidden) := concat("", [
	" Left out of this summary because they would make a diagnosis, an offence category or a",
	" procedural role known to a partner without a care or justice task: ",
	concat(", ", left_out), ".",
]) if {
	count(hidden) > 0
	classes := released_field_classes[level]
	left_out := sort([field |
		some field
		field_class := fact_fields[field]
		classes[field_class]
		not entry.never_shared[field]
		hidden[field]
	])
	count(left_out) > 0
} else := ""
