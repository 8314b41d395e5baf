Profile: TyokykyWorkAbilityScore
Parent: $fi-observation
Id: tyokyky-work-ability-score
Title: "Työkykypistemäärä / Work Ability Score"
Description: """Työkykykysymys: nykyinen työkyky verrattuna elinaikaiseen parhaimpaan (0–10). 7 tai alle: työkyky selvitetään tarkemmin (tyk-was-2). Paikallinen koodi, koska yksittäiselle kysymykselle ei ole LOINC- tai SNOMED CT -koodia.

The Work Ability Score: current work ability compared with the lifetime best (integer 0–10, tyk-was-1). A score of 7 or lower requires the interpretation 'needs further assessment' (tyk-was-2), and no interpretation may contradict the score (tyk-was-3). Local code: no LOINC or SNOMED CT code exists for the single item. Method tells self-reported from professional."""
* insert KantaCommon
* insert KantaCreatingApplication
* identifier 1..*
* obeys tyk-was-1 and tyk-was-2 and tyk-was-3
* code = WorkAbilityObservationCS#work-ability-score
* subject 1..1
* subject only Reference(TyokykyPatient)
* effective[x] 1..1
* effective[x] only dateTime
* performer 1..*
* value[x] 1..1
* value[x] only integer
* value[x] ^short = "0 = ei lainkaan työkykyä / cannot work at all; 10 = paras / at its best"
* interpretation from WorkAbilityInterpretationVS (required)
* method 1..1
* method from AssessmentMethodVS (required)
* component 0..0
* hasMember 0..0

Invariant: tyk-was-1
Description: "Työkykypistemäärä on kokonaisluku 0–10. / The Work Ability Score is an integer from 0 to 10."
Severity: #error
Expression: "value.ofType(integer).all($this >= 0 and $this <= 10)"

Invariant: tyk-was-2
Description: "Pistemäärä 7 tai alle vaatii tulkinnan 'työkyky selvitettävä tarkemmin'. / A score of 7 or lower requires interpretation work-ability-interpretation#needs-further-assessment."
Severity: #error
Expression: "value.ofType(integer).where($this <= 7).exists() implies interpretation.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-interpretation' and code = 'needs-further-assessment').exists()"

Invariant: tyk-was-3
Description: "Tulkinta ei ole ristiriidassa pistemäärän kanssa: 'selvitettävä tarkemmin' vain kun pisteitä on 7 tai alle, 'ei lisäselvitystarvetta' vain kun yli 7. / The interpretation does not contradict the score: needs-further-assessment only at 7 or lower, no-further-assessment only above 7."
Severity: #error
Expression: "value.ofType(integer).where($this >= 0 and $this <= 10).exists() implies ((interpretation.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-interpretation' and code = 'needs-further-assessment').exists() implies value.ofType(integer) <= 7) and (interpretation.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-interpretation' and code = 'no-further-assessment').exists() implies value.ofType(integer) > 7))"

Profile: TyokykyWorkAbilityAssessment
Parent: $fi-observation
Id: tyokyky-work-ability-assessment
Title: "Työkyvyn yhteinen arvio / Joint work-ability assessment"
Description: """Ammattilaisen ja asiakkaan yhteinen arvio työkyvystä HOI-näkymällä: vaihe, asiakkaan tilanne, herätteet, kuntoutustarve ja oman ja lääketieteellisen arvion ristiriita; linkit työkykypistemääriin ja itsearvioon.

The professional's joint assessment with the client, recorded on the HOI view: phase, client situation, triggers observed, rehabilitation need and a flag for a mismatch between the client's own and the medical assessment; links to the Work Ability Score(s) (hasMember) and the self-assessment (derivedFrom)."""
* insert KantaCommon
* insert KantaCreatingApplication
* identifier 1..*
* code = WorkAbilityObservationCS#work-ability-assessment
* category 1..*
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains recordView 1..1
* category[recordView] = RecordViewCS#HOI
* subject 1..1
* subject only Reference(TyokykyPatient)
* effective[x] 1..1
* effective[x] only dateTime
* performer 1..*
* value[x] 0..0
* hasMember only Reference(TyokykyWorkAbilityScore)
* derivedFrom only Reference(TyokykySelfAssessmentResponse)
* component ^slicing.discriminator.type = #pattern
* component ^slicing.discriminator.path = "code"
* component ^slicing.rules = #open
* component contains phase 1..1 and clientSituation 1..1 and trigger 0..* and rehabilitationNeed 1..1 and assessmentMismatch 0..1
* component[phase].code = WorkAbilityObservationCS#phase
* component[phase].value[x] 1..1
* component[phase].value[x] only CodeableConcept
* component[phase].value[x] from WorkAbilityPhaseVS (required)
* component[clientSituation].code = WorkAbilityObservationCS#client-situation
* component[clientSituation].value[x] 1..1
* component[clientSituation].value[x] only CodeableConcept
* component[clientSituation].value[x] from ClientSituationVS (required)
* component[trigger].code = WorkAbilityObservationCS#trigger
* component[trigger].value[x] 1..1
* component[trigger].value[x] only CodeableConcept
* component[trigger].value[x] from WorkAbilityTriggerVS (required)
* component[rehabilitationNeed].code = WorkAbilityObservationCS#rehabilitation-need
* component[rehabilitationNeed].value[x] 1..1
* component[rehabilitationNeed].value[x] only boolean
* component[assessmentMismatch].code = WorkAbilityObservationCS#assessment-mismatch
* component[assessmentMismatch].value[x] 1..1
* component[assessmentMismatch].value[x] only boolean

Profile: TyokykySelfAssessment
Parent: Questionnaire
Id: tyokyky-self-assessment
Title: "Työkyvyn itsearvio (Kykyviisarin rakenne) / Work-ability self-assessment (Kykyviisari structure)"
Description: """Itsearviolomake Työterveyslaitoksen Kykyviisarin julkaistun rakenteen mukaan: yleinen työkyky 0–10 ja viisi osa-aluetta (psyykkinen hyvinvointi, sosiaalinen osallisuus, fyysinen toimintakyky, osaaminen, arki).

A self-assessment form modelled on the published structure of Kykyviisari (Finnish Institute of Occupational Health): overall work ability 0–10 and five domains (mental well-being, social participation, physical functioning, competence, everyday life), each an integer item 0–10."""
* status MS
* item ^slicing.discriminator.type = #value
* item ^slicing.discriminator.path = "linkId"
* item ^slicing.rules = #open
* item contains overall 1..1 and mentalWellbeing 1..1 and socialParticipation 1..1 and physicalFunctioning 1..1 and competence 1..1 and everydayLife 1..1
* item[overall].linkId = "overall"
* item[overall].type = #integer
* item[mentalWellbeing].linkId = "mental-wellbeing"
* item[mentalWellbeing].type = #integer
* item[socialParticipation].linkId = "social-participation"
* item[socialParticipation].type = #integer
* item[physicalFunctioning].linkId = "physical-functioning"
* item[physicalFunctioning].type = #integer
* item[competence].linkId = "competence"
* item[competence].type = #integer
* item[everydayLife].linkId = "everyday-life"
* item[everydayLife].type = #integer

Profile: TyokykySelfAssessmentResponse
Parent: QuestionnaireResponse
Id: tyokyky-self-assessment-response
Title: "Työkyvyn itsearvion vastaukset / Self-assessment response"
Description: """Asiakkaan vastaukset Kykyviisari-rakenteiseen itsearvioon: yleinen työkyky ja viisi osa-aluetta, kukin 0–10.

The client's answers to the Kykyviisari-structured self-assessment: overall work ability and the five domains, each an integer 0–10."""
* insert KantaCommon
* insert KantaCreatingApplication
* identifier 1..1
* obeys tyk-sar-1
* questionnaire 1..1
* subject 1..1
* subject only Reference(TyokykyPatient)
* authored 1..1
* author MS
* item 1..*
* item ^slicing.discriminator.type = #value
* item ^slicing.discriminator.path = "linkId"
* item ^slicing.rules = #open
* item contains overall 1..1 and mentalWellbeing 0..1 and socialParticipation 0..1 and physicalFunctioning 0..1 and competence 0..1 and everydayLife 0..1
* item[overall].linkId = "overall"
* item[mentalWellbeing].linkId = "mental-wellbeing"
* item[socialParticipation].linkId = "social-participation"
* item[physicalFunctioning].linkId = "physical-functioning"
* item[competence].linkId = "competence"
* item[everydayLife].linkId = "everyday-life"
* insert ScoreAnswer(overall)
* insert ScoreAnswer(mentalWellbeing)
* insert ScoreAnswer(socialParticipation)
* insert ScoreAnswer(physicalFunctioning)
* insert ScoreAnswer(competence)
* insert ScoreAnswer(everydayLife)

RuleSet: ScoreAnswer(slice)
* item[{slice}].answer 1..1
* item[{slice}].answer.value[x] only integer
* item[{slice}].answer.value[x] ^minValueInteger = 0
* item[{slice}].answer.value[x] ^maxValueInteger = 10
* item[{slice}].item 0..0

Invariant: tyk-sar-1
Description: "Itsearvion ainoa tunniste on urn:ietf:rfc:3986-järjestelmän urn:uuid-arvo: se on itsearvion tunnus. / A self-assessment's one identifier is a urn:uuid: value under urn:ietf:rfc:3986: it is the self-assessment's id (a urn:oid: one, which tyk-id-1 allows on other resources, is not read)."
Severity: #error
Expression: "identifier.where(system = 'urn:ietf:rfc:3986').all(value.startsWith('urn:uuid:'))"
