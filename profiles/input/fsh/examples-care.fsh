Instance: suvi-consent
InstanceOf: TyokykyConsent
Title: "Suvi's consent to data exchange (maximal Consent)"
Description: "Specified consent: Kela, kuntakokeilu, the unemployed health check and other health care; five data classes; one year."
Usage: #example
* insert ExampleCommon(Suostumus tietojen vaihtoon: Kela - kuntakokeilu - työttömien terveystarkastus - muu terveydenhuolto)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000041)
* status = #active
* scope = $consentscope#patient-privacy
* category[patientConsent] = $loinc#59284-0 "Patient Consent"
* patient = Reference(suvi)
* dateTime = "2026-01-20T09:30:00+02:00"
* performer = Reference(suvi)
* organization = Reference(helsinki-sote)
* policy.uri = "https://www.finlex.fi/fi/laki/alkup/2023/20230703"
* provision.type = #permit
* provision.period.start = "2026-01-20"
* provision.period.end = "2027-01-20"
* provision.actor[+].role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP
* provision.actor[=].reference = Reference(kela)
* provision.actor[=].extension[receivingParty].valueCodeableConcept = ConsentPartyCS#kela "Kela"
* provision.actor[+].role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP
* provision.actor[=].reference = Reference(kuntakokeilu-helsinki)
* provision.actor[=].extension[receivingParty].valueCodeableConcept = ConsentPartyCS#kuntakokeilu
* provision.actor[+].role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP
* provision.actor[=].reference.display = "Työttömien terveystarkastus, Helsinki"
* provision.actor[=].extension[receivingParty].valueCodeableConcept = ConsentPartyCS#unemployed-health-check
* provision.actor[+].role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP
* provision.actor[=].reference.display = "Muu terveydenhuolto"
* provision.actor[=].extension[receivingParty].valueCodeableConcept = ConsentPartyCS#other-health-care
* provision.code[+] = ConsentDataClassCS#identification
* provision.code[+] = ConsentDataClassCS#work-ability-assessment
* provision.code[+] = ConsentDataClassCS#support-plan
* provision.code[+] = ConsentDataClassCS#health-data
* provision.code[+] = ConsentDataClassCS#employment-history

Instance: maija-consent
InstanceOf: TyokykyConsent
Title: "Maija's consent (minimal Consent)"
Usage: #example
* insert ExampleCommon(Suostumus: sosiaalipalvelut - terveystiedot)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000042)
* status = #active
* scope = $consentscope#patient-privacy
* category[patientConsent] = $loinc#59284-0
* patient = Reference(maija)
* dateTime = "2026-02-03"
* organization = Reference(helsinki-sote)
* policy.uri = "https://www.finlex.fi/fi/laki/alkup/2023/20230703"
* provision.type = #permit
* provision.period.start = "2026-02-03"
* provision.actor.role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP
* provision.actor.reference = Reference(helsinki-sote)
* provision.actor.extension[receivingParty].valueCodeableConcept = ConsentPartyCS#social-services
* provision.code = ConsentDataClassCS#health-data

Instance: sirpa-consent-withdrawn
InstanceOf: TyokykyConsent
Title: "Sirpa's withdrawn consent (Consent, status inactive)"
Usage: #example
* insert ExampleCommon(Peruutettu suostumus: Kela - peruutettu 2026-03-01)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000043)
* extension[withdrawalDate].valueDateTime = "2026-03-01"
* status = #inactive
* scope = $consentscope#patient-privacy
* category[patientConsent] = $loinc#59284-0
* patient = Reference(sirpa)
* dateTime = "2025-03-01"
* organization = Reference(helsinki-sote)
* policy.uri = "https://www.finlex.fi/fi/laki/alkup/2023/20230703"
* provision.type = #permit
* provision.period.start = "2025-03-01"
* provision.period.end = "2026-03-01"
* provision.actor.role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP
* provision.actor.reference = Reference(kela)
* provision.actor.extension[receivingParty].valueCodeableConcept = ConsentPartyCS#kela
* provision.code = ConsentDataClassCS#benefits-income

Instance: suvi-goal
InstanceOf: TyokykyGoal
Title: "Suvi's goal (maximal Goal)"
Usage: #example
* insert ExampleCommon(Tavoite: säännöllinen päivärytmi ja kaksi päivää viikossa kuntouttavassa työtoiminnassa)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000051)
* lifecycleStatus = #active
* achievementStatus = http://terminology.hl7.org/CodeSystem/goal-achievement#in-progress
* priority = http://terminology.hl7.org/CodeSystem/goal-priority#high-priority
* description.text = "Säännöllinen päivärytmi: kaksi päivää viikossa kuntouttavassa työtoiminnassa, tavoitteena työkokeilu."
* subject = Reference(suvi)
* startDate = "2026-02-01"
* target.dueDate = "2026-08-01"
* statusDate = "2026-02-01"
* expressedBy = Reference(suvi)
* addresses = Reference(suvi-assessment)
* outcomeCode = OnwardPathCS#work-trial

Instance: maija-goal
InstanceOf: TyokykyGoal
Title: "Maija's goal (minimal Goal)"
Usage: #example
* insert ExampleCommon(Tavoite: terveydentilan selvittäminen)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000052)
* lifecycleStatus = #active
* description.text = "Terveydentilan ja työkyvyn selvittäminen."
* subject = Reference(maija)
* startDate = "2026-02-03"

Instance: suvi-activation-plan
InstanceOf: TyokykySupportPlan
Title: "Suvi's activation plan (maximal CarePlan)"
Description: "Rehabilitative work activity two days a week for six months, with a follow-up date."
Usage: #example
* insert ExampleCommon(Aktivointisuunnitelma: kuntouttava työtoiminta 2 päivää viikossa 1.2.–31.7.2026)
* insert ExampleCreatingApplication
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000061)
* extension[followUpDate].valueDate = "2026-05-01"
* status = #active
* intent = #plan
* category[recordView] = RecordViewCS#HOI "Hoitotyö (HOI)"
* category[activationPlan] = PlanCategoryCS#activation-plan "Aktivointisuunnitelma"
* title = "Suvin aktivointisuunnitelma"
* subject = Reference(suvi)
* period.start = "2026-02-01"
* period.end = "2026-07-31"
* created = "2026-01-27"
* author = Reference(social-worker-laine)
* contributor[+] = Reference(suvi)
* contributor[+] = Reference(coach-koskinen)
* careTeam = Reference(suvi-team)
* supportingInfo[+] = Reference(suvi-assessment)
* supportingInfo[+] = Reference(suvi-consent)
* goal = Reference(suvi-goal)
* activity[+].detail.kind = #ServiceRequest
* activity[=].detail.code = WorkAbilityServiceCS#rehabilitative-work-activity "Kuntouttava työtoiminta"
* activity[=].detail.status = #in-progress
* activity[=].detail.scheduledTiming.repeat.boundsPeriod.start = "2026-02-01"
* activity[=].detail.scheduledTiming.repeat.boundsPeriod.end = "2026-07-31"
* activity[=].detail.scheduledTiming.repeat.frequency = 2
* activity[=].detail.scheduledTiming.repeat.period = 1
* activity[=].detail.scheduledTiming.repeat.periodUnit = #wk
* activity[=].detail.scheduledTiming.repeat.dayOfWeek[+] = #tue
* activity[=].detail.scheduledTiming.repeat.dayOfWeek[+] = #thu
* activity[=].detail.goal = Reference(suvi-goal)
* activity[=].detail.performer = Reference(helsinki-sote)
* activity[=].outcomeCodeableConcept = OnwardPathCS#work-trial
* activity[+].reference = Reference(suvi-referral)
* activity[+].detail.code = WorkAbilityServiceCS#unemployed-health-check
* activity[=].detail.status = #scheduled
* activity[=].detail.scheduledString = "Maaliskuu 2026"
* note.text = "Seuranta kolmen kuukauden välein; suunnitelma näkyy asiakkaalle Omakannassa."

Instance: maija-plan
InstanceOf: TyokykySupportPlan
Title: "Maija's work-ability support plan (minimal CarePlan)"
Usage: #example
* insert ExampleCommon(Työkyvyn tuen suunnitelma)
* insert ExampleCreatingApplication
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000062)
* status = #active
* intent = #plan
* category[recordView] = RecordViewCS#HOI
* category[workAbilitySupportPlan] = PlanCategoryCS#work-ability-support-plan
* subject = Reference(maija)
* period.start = "2026-02-10"
* created = "2026-02-10"
* author = Reference(social-worker-laine)
* goal = Reference(maija-goal)

Instance: sirpa-goal
InstanceOf: TyokykyGoal
Title: "Sirpa's goal: four days a week (Goal)"
Usage: #example
* insert ExampleCommon(Tavoite: neljä päivää viikossa kuntouttavassa työtoiminnassa)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000053)
* lifecycleStatus = #active
* description.text = "Neljä päivää viikossa kuntouttavassa työtoiminnassa: kaksi verstaalla ja kaksi asiakaspalvelussa."
* subject = Reference(sirpa)
* startDate = "2024-09-01"

Instance: sirpa-implementation-plan
InstanceOf: TyokykySupportPlan
Title: "Sirpa's implementation plan: four days a week, 24 months (CarePlan)"
Description: "Rehabilitative work activity raised to four days a week, split between two places running at the same time: two days in a workshop and two in customer service (tyk-rwa-3 adds them up)."
Usage: #example
* insert ExampleCommon(Toteuttamissuunnitelma: kuntouttava työtoiminta 4 päivää viikossa 24 kuukautta - 2 päivää verstaalla ja 2 asiakaspalvelussa)
* insert ExampleCreatingApplication
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000063)
* status = #active
* intent = #plan
* category[recordView] = RecordViewCS#HOI
* category[implementationPlan] = PlanCategoryCS#implementation-plan
* subject = Reference(sirpa)
* period.start = "2024-09-01"
* created = "2024-08-20"
* author = Reference(social-worker-laine)
* goal = Reference(sirpa-goal)
* activity[+].detail.code = WorkAbilityServiceCS#rehabilitative-work-activity
* activity[=].detail.status = #in-progress
* activity[=].detail.scheduledTiming.repeat.boundsDuration = 24 'mo' "months"
* activity[=].detail.scheduledTiming.repeat.frequency = 2
* activity[=].detail.scheduledTiming.repeat.period = 1
* activity[=].detail.scheduledTiming.repeat.periodUnit = #wk
* activity[=].detail.description = "Kaksi päivää viikossa verstaalla."
* activity[+].detail.code = WorkAbilityServiceCS#rehabilitative-work-activity
* activity[=].detail.status = #in-progress
* activity[=].detail.scheduledTiming.repeat.boundsDuration = 24 'mo' "months"
* activity[=].detail.scheduledTiming.repeat.frequency = 2
* activity[=].detail.scheduledTiming.repeat.period = 1
* activity[=].detail.scheduledTiming.repeat.periodUnit = #wk
* activity[=].detail.description = "Kaksi päivää viikossa asiakaspalvelussa."

Instance: suvi-referral
InstanceOf: TyokykyReferral
Title: "Suvi's referral to rehabilitative work activity (maximal ServiceRequest)"
Usage: #example
* insert ExampleCommon(Lähete kuntouttavaan työtoimintaan - suostumus liitteenä)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000071)
* status = #active
* intent = #order
* priority = #routine
* code = WorkAbilityServiceCS#rehabilitative-work-activity "Kuntouttava työtoiminta"
* subject = Reference(suvi)
* authoredOn = "2026-01-22"
* occurrencePeriod.start = "2026-02-01"
* requester = Reference(counsellor-lahtinen)
* performer = Reference(helsinki-sote)
* reasonCode[+] = WorkAbilityTriggerCS#broken-work-history
* reasonCode[+] = WorkAbilityTriggerCS#low-self-efficacy
* reasonReference = Reference(suvi-assessment)
* supportingInfo[+] = Reference(suvi-consent)
* supportingInfo[+] = Reference(suvi-assessment)
* note.text = "Asiakas on kuntakokeilun asiakas; työttömänä kaksi vuotta."

Instance: maija-referral
InstanceOf: TyokykyReferral
Title: "Maija's referral to Helsinki work-ability support (minimal ServiceRequest)"
Usage: #example
* insert ExampleCommon(Lähete Helsingin työkyvyn tuen palveluihin)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000072)
* status = #active
* intent = #order
* code = WorkAbilityServiceCS#helsinki-work-ability-support
* subject = Reference(maija)
* authoredOn = "2026-02-04"
* requester = Reference(social-worker-laine)
* supportingInfo = Reference(maija-consent)

Instance: suvi-team
InstanceOf: TyokykyResponsibleWorkerTeam
Title: "Suvi's team with a handover (maximal CareTeam)"
Description: "The kuntakokeilu coach handed over to the social-care own worker on 2026-02-01; the ended period keeps the history."
Usage: #example
* insert ExampleCommon(Vastuutyöntekijä: omatyöntekijä Laine 1.2.2026 alkaen - aiemmin omavalmentaja Koskinen)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000081)
* status = #active
* name = "Suvin työkyvyn tuen tiimi"
* subject = Reference(suvi)
* period.start = "2025-06-01"
* participant[+].role = CareTeamRoleCS#kuntakokeilu-coach "Kuntakokeilun omavalmentaja"
* participant[=].member = Reference(coach-koskinen)
* participant[=].period.start = "2025-06-01"
* participant[=].period.end = "2026-01-31"
* participant[+].role = CareTeamRoleCS#own-worker "Omatyöntekijä"
* participant[=].member = Reference(social-worker-laine)
* participant[=].period.start = "2026-02-01"
* participant[+].role = CareTeamRoleCS#work-ability-coordinator "Työkykykoordinaattori"
* participant[=].member = Reference(coordinator-nieminen)
* participant[=].period.start = "2026-02-01"
* participant[+].role = CareTeamRoleCS#job-coach
* participant[=].member = Reference(kuntakokeilu-helsinki)
* participant[=].period.start = "2026-02-01"
* managingOrganization = Reference(helsinki-sote)

Instance: maija-team
InstanceOf: TyokykyResponsibleWorkerTeam
Title: "Maija's responsible worker (minimal CareTeam)"
Usage: #example
* insert ExampleCommon(Vastuutyöntekijä: sosiaalityöntekijä Laine)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000082)
* subject = Reference(maija)
* participant.role = CareTeamRoleCS#own-worker
* participant.member = Reference(social-worker-laine)
* participant.period.start = "2026-02-03"
