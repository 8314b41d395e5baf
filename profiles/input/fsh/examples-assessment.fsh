Instance: kykyviisari
InstanceOf: TyokykySelfAssessment
Title: "Kykyviisari-structured self-assessment (maximal Questionnaire)"
Description: "Overall work ability and the five Kykyviisari domains, each 0–10."
Usage: #definition
* url = "https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari"
* name = "TyokykyKykyviisariSelfAssessment"
* title = "Työkyvyn ja toimintakyvyn itsearvio (Kykyviisarin rakenne)"
* status = #active
* language = #fi
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"fi\" xml:lang=\"fi\"><p>Kykyviisarin rakenteinen itsearvio: yleinen työkyky ja viisi osa-aluetta (0–10).</p></div>"
* subjectType = #Patient
* description = "Modelled on the published structure of Kykyviisari (Finnish Institute of Occupational Health); the item texts are our own."
* insert ScoreItem(overall, overall, true, Yleinen työkyky: jos työkykysi parhaimmillaan saa 10 pistettä\, minkä pistemäärän antaisit nykyiselle työkyvyllesi?, Allmän arbetsförmåga: om din arbetsförmåga när den är som bäst får 10 poäng\, hur många poäng skulle du ge din nuvarande arbetsförmåga?, Overall work ability: if your work ability at its best scores 10 points\, how many points would you give your current work ability?)
* insert ScoreItem(mentalWellbeing, mental-wellbeing, false, Psyykkinen hyvinvointi, Psykiskt välbefinnande, Mental wellbeing)
* insert ScoreItem(socialParticipation, social-participation, false, Sosiaalinen osallisuus, Social delaktighet, Social participation)
* insert ScoreItem(physicalFunctioning, physical-functioning, false, Fyysinen toimintakyky, Fysisk funktionsförmåga, Physical functioning)
* insert ScoreItem(competence, competence, false, Osaaminen, Kompetens, Competence)
* insert ScoreItem(everydayLife, everyday-life, false, Arki, Vardagen, Everyday life)

// Only the overall score is required: the five domains are optional, as in the response profile.
// The item text is Finnish (the form's language); sv and en are translation extensions on it.
RuleSet: ScoreItem(slice, linkId, required, text, sv, en)
* item[{slice}].linkId = "{linkId}"
* item[{slice}].text = "{text}"
* item[{slice}].text.extension[+].url = "http://hl7.org/fhir/StructureDefinition/translation"
* item[{slice}].text.extension[=].extension[+].url = "lang"
* item[{slice}].text.extension[=].extension[=].valueCode = #sv
* item[{slice}].text.extension[=].extension[+].url = "content"
* item[{slice}].text.extension[=].extension[=].valueString = "{sv}"
* item[{slice}].text.extension[+].url = "http://hl7.org/fhir/StructureDefinition/translation"
* item[{slice}].text.extension[=].extension[+].url = "lang"
* item[{slice}].text.extension[=].extension[=].valueCode = #en
* item[{slice}].text.extension[=].extension[+].url = "content"
* item[{slice}].text.extension[=].extension[=].valueString = "{en}"
* item[{slice}].type = #integer
* item[{slice}].required = {required}
* item[{slice}].extension[+].url = $minValue
* item[{slice}].extension[=].valueInteger = 0
* item[{slice}].extension[+].url = $maxValue
* item[{slice}].extension[=].valueInteger = 10

Instance: self-assessment-minimal
InstanceOf: TyokykySelfAssessment
Title: "Self-assessment form (minimal Questionnaire)"
Usage: #example
* status = #draft
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Itsearvio (minimaalinen).</p></div>"
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

Instance: suvi-self-assessment
InstanceOf: TyokykySelfAssessmentResponse
Title: "Suvi's self-assessment (maximal QuestionnaireResponse)"
Usage: #example
* insert ExampleCommon(Suvin itsearvio 2026-01-15: yleinen työkyky 6)
* insert ExampleCreatingApplication
* identifier.system = "urn:ietf:rfc:3986"
* identifier.value = "urn:uuid:5b4c1f3e-2a10-5c3d-8e11-000000000021"
* questionnaire = "https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari"
* status = #completed
* subject = Reference(suvi)
* authored = "2026-01-15T10:00:00+02:00"
* author = Reference(suvi)
* source = Reference(suvi)
* item[overall].linkId = "overall"
* item[overall].answer.valueInteger = 6
* item[mentalWellbeing].linkId = "mental-wellbeing"
* item[mentalWellbeing].answer.valueInteger = 5
* item[socialParticipation].linkId = "social-participation"
* item[socialParticipation].answer.valueInteger = 4
* item[physicalFunctioning].linkId = "physical-functioning"
* item[physicalFunctioning].answer.valueInteger = 8
* item[competence].linkId = "competence"
* item[competence].answer.valueInteger = 6
* item[everydayLife].linkId = "everyday-life"
* item[everydayLife].answer.valueInteger = 7

Instance: maija-self-assessment
InstanceOf: TyokykySelfAssessmentResponse
Title: "Maija's self-assessment (minimal QuestionnaireResponse)"
Usage: #example
* insert ExampleCommon(Maijan itsearvio: yleinen työkyky 8)
* insert ExampleCreatingApplication
* identifier.system = "urn:ietf:rfc:3986"
* identifier.value = "urn:uuid:5b4c1f3e-2a10-5c3d-8e11-000000000022"
* questionnaire = "https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari"
* status = #completed
* subject = Reference(maija)
* authored = "2026-02-03"
* item[overall].linkId = "overall"
* item[overall].answer.valueInteger = 8

Instance: suvi-work-ability-score
InstanceOf: TyokykyWorkAbilityScore
Title: "Suvi's Work Ability Score 6 (maximal Observation)"
Description: "Self-reported score 6, so work ability is investigated further."
Usage: #example
* insert ExampleCommon(Työkykypistemäärä 6/10 - asiakkaan itse ilmoittama - työkyky selvitettävä tarkemmin)
* insert ExampleCreatingApplication
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000031)
* status = #final
* category = $obs-category#survey
* code = WorkAbilityObservationCS#work-ability-score "Työkykypistemäärä"
* subject = Reference(suvi)
* effectiveDateTime = "2026-01-15T10:00:00+02:00"
* issued = "2026-01-15T10:05:00+02:00"
* performer[+] = Reference(suvi)
* performer[+] = Reference(coach-koskinen)
* valueInteger = 6
* interpretation = WorkAbilityInterpretationCS#needs-further-assessment "Työkyky selvitettävä tarkemmin"
* method = AssessmentMethodCS#self-reported "Asiakkaan itse ilmoittama"
* note.text = "Arvioi viimeisintä varastotyötään."
* derivedFrom = Reference(suvi-self-assessment)

Instance: maija-work-ability-score
InstanceOf: TyokykyWorkAbilityScore
Title: "Maija's self-reported Work Ability Score 8 (minimal Observation)"
Description: "Maija rates her own work ability 8; the professional's 4 (maija-professional-work-ability-score) disagrees, which the joint assessment records as a mismatch."
Usage: #example
* insert ExampleCommon(Työkykypistemäärä 8/10 - asiakkaan itse ilmoittama)
* insert ExampleCreatingApplication
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000032)
* status = #final
* code = WorkAbilityObservationCS#work-ability-score
* subject = Reference(maija)
* effectiveDateTime = "2026-02-03"
* performer = Reference(maija)
* valueInteger = 8
* method = AssessmentMethodCS#self-reported

Instance: maija-professional-work-ability-score
InstanceOf: TyokykyWorkAbilityScore
Title: "Maija's Work Ability Score 4 by the professional (Observation)"
Usage: #example
* insert ExampleCommon(Työkykypistemäärä 4/10 - ammattilaisen arvio - työkyky selvitettävä tarkemmin)
* insert ExampleCreatingApplication
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000035)
* status = #final
* code = WorkAbilityObservationCS#work-ability-score
* subject = Reference(maija)
* effectiveDateTime = "2026-02-03"
* performer = Reference(social-worker-laine)
* valueInteger = 4
* interpretation = WorkAbilityInterpretationCS#needs-further-assessment
* method = AssessmentMethodCS#professional

Instance: suvi-assessment
InstanceOf: TyokykyWorkAbilityAssessment
Title: "Suvi's joint assessment (maximal Observation)"
Usage: #example
* insert ExampleCommon(Yhteinen arvio: toissijainen vaihe - työtön - kuntoutustarve)
* insert ExampleCreatingApplication
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000033)
* status = #final
* category[recordView] = RecordViewCS#HOI "Hoitotyö (HOI)"
* code = WorkAbilityObservationCS#work-ability-assessment
* subject = Reference(suvi)
* effectiveDateTime = "2026-01-20T09:00:00+02:00"
* performer[+] = Reference(social-worker-laine)
* performer[+] = Reference(coach-koskinen)
* hasMember = Reference(suvi-work-ability-score)
* derivedFrom = Reference(suvi-self-assessment)
* note.text = "Kaksi vuotta työttömänä; varasto- ja keikkatöitä. Ohjataan kuntouttavaan työtoimintaan."
* component[phase].code = WorkAbilityObservationCS#phase
* component[phase].valueCodeableConcept = WorkAbilityPhaseCS#secondary
* component[clientSituation].code = WorkAbilityObservationCS#client-situation
* component[clientSituation].valueCodeableConcept = ClientSituationCS#unemployed
* component[trigger][+].code = WorkAbilityObservationCS#trigger
* component[trigger][=].valueCodeableConcept = WorkAbilityTriggerCS#broken-work-history
* component[trigger][+].code = WorkAbilityObservationCS#trigger
* component[trigger][=].valueCodeableConcept = WorkAbilityTriggerCS#low-self-efficacy
* component[rehabilitationNeed].code = WorkAbilityObservationCS#rehabilitation-need
* component[rehabilitationNeed].valueBoolean = true
* component[assessmentMismatch].code = WorkAbilityObservationCS#assessment-mismatch
* component[assessmentMismatch].valueBoolean = false

Instance: maija-assessment
InstanceOf: TyokykyWorkAbilityAssessment
Title: "Maija's joint assessment (minimal Observation)"
Description: "Secondary phase, unemployed, rehabilitation needed; her own score (8) and the professional's (4) disagree."
Usage: #example
* insert ExampleCommon(Yhteinen arvio: toissijainen vaihe - työtön - kuntoutustarve - oma ja ammattilaisen arvio eroavat)
* insert ExampleCreatingApplication
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000034)
* status = #final
* category[recordView] = RecordViewCS#HOI
* code = WorkAbilityObservationCS#work-ability-assessment
* subject = Reference(maija)
* effectiveDateTime = "2026-02-03"
* performer = Reference(social-worker-laine)
* component[phase].code = WorkAbilityObservationCS#phase
* component[phase].valueCodeableConcept = WorkAbilityPhaseCS#secondary
* component[clientSituation].code = WorkAbilityObservationCS#client-situation
* component[clientSituation].valueCodeableConcept = ClientSituationCS#unemployed
* component[rehabilitationNeed].code = WorkAbilityObservationCS#rehabilitation-need
* component[rehabilitationNeed].valueBoolean = true
* component[assessmentMismatch].code = WorkAbilityObservationCS#assessment-mismatch
* component[assessmentMismatch].valueBoolean = true
