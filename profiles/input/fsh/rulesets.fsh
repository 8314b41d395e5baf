// Swedish and English designations for one concept; values must not contain unescaped commas.
RuleSet: Designations(code, sv, en)
* {code} ^designation[+].language = #sv
* {code} ^designation[=].value = "{sv}"
* {code} ^designation[+].language = #en
* {code} ^designation[=].value = "{en}"

// Metadata of our CodeSystems and ValueSets. status and version are not set here: SUSHI gives every
// CodeSystem, ValueSet and profile those of sushi-config.yaml.
RuleSet: LocalCodeSystem
* ^experimental = false
* ^language = #fi
* ^caseSensitive = true
* ^content = #complete

RuleSet: LocalValueSet
* ^experimental = false
* ^language = #fi

// Kanta PHR common rules: language, narrative and business identifier are mandatory.
RuleSet: KantaCommon
// identifier 1..* is set per profile (QuestionnaireResponse.identifier is 0..1 in R4).
* language 1..1
* text 1..1
* identifier.system 1..1
* identifier.value 1..1
* obeys tyk-id-1
* language ^short = "Kieli (Kanta: pakollinen) / Language (Kanta: required)"
* text ^short = "Kertomusteksti (Kanta: pakollinen) / Narrative (Kanta: required)"

// Kanta PHR's creating-application extension (tyokyky.kanta.phr.r4): name and the applicationId Kela
// assigns, both 1..1. Kanta's definition allows it only on Observation, MedicationAdministration,
// MedicationStatement, CarePlan, Questionnaire, QuestionnaireResponse and StructureDefinition, so our
// Observation, QuestionnaireResponse and CarePlan profiles require it and the others leave it out.
RuleSet: KantaCreatingApplication
* extension contains http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication named creatingApplication 1..1

RuleSet: ExampleCreatingApplication
* extension[creatingApplication].extension[name].valueString = "tyokyky-fhir examples"
* extension[creatingApplication].extension[applicationId].valueString = "tyokyky-fhir-unregistered"

// Example instances: Finnish language and a narrative.
RuleSet: ExampleCommon(narrative)
* language = #fi
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"fi\" xml:lang=\"fi\"><p>{narrative}</p></div>"

RuleSet: ExampleUuid(uuid)
* identifier[+].system = "urn:ietf:rfc:3986"
* identifier[=].value = "urn:uuid:{uuid}"

// A new identifier entry, not the named slice: writing identifier[PIC] does not move SUSHI's [+]
// counter, so a following identifier[+] would land on index 0 and merge into the HETU. FI Base slices
// identifier by use (official), so this entry is still the PIC slice.
RuleSet: Hetu(value)
* identifier[+].use = #official
* identifier[=].type = $v2-0203#NNFIN
* identifier[=].system = "urn:oid:1.2.246.21"
* identifier[=].value = "{value}"
