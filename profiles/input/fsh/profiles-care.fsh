Profile: TyokykyConsent
Parent: Consent
Id: tyokyky-consent
Title: "Suostumus tietojen vaihtoon / Consent to data exchange"
Description: """Asiakkaan suostumus tietojen vaihtoon monialaisessa verkostossa (Kelan Y100-tyyppinen): luovutuslupa (provision.type = permit) nimetyille vastaanottajille ja tietoryhmille, voimassaoloaika, peruutus (status inactive + peruutuspäivä, tyk-con-1). Yhteensopiva Kannan luovutuslupa-Consentin kanssa.

The client's consent to exchange data in the multi-agency network (Kela Y100-style): a permit provision naming the receiving parties (provision.actor with a consent-party code and optionally an Organization reference) and the data classes (provision.code), a validity period and withdrawal (status inactive + withdrawal date, tyk-con-1). Mappable to Kanta's disclosure-permission Consent (category, provision.type = permit, data classes, receiving organisations as actors)."""
* insert KantaCommon
* identifier 1..*
* obeys tyk-con-1 and tyk-con-2 and tyk-con-3
* extension contains ConsentWithdrawalDate named withdrawalDate 0..1
* scope = $consentscope#patient-privacy
* category 1..*
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains patientConsent 1..1
* category[patientConsent] = $loinc#59284-0
* patient 1..1
* patient only Reference(TyokykyPatient)
* dateTime 1..1
* performer MS
* organization 1..*
* organization only Reference(TyokykyOrganization)
* policy 1..*
* policy.uri 1..1
* policy ^comment = "The legal basis, e.g. https://www.finlex.fi/fi/laki/alkup/2023/20230703 (Act on the processing of client data in health and social care, 703/2023). R4's consent-policy codes are US/EU-specific, so policyRule is not used."
* provision 1..1
* provision.type 1..1
* provision.type = #permit
* provision.period 1..1
* provision.period.start 1..1
* provision.actor 1..*
* provision.actor.role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP
* provision.actor.extension contains ConsentReceivingParty named receivingParty 1..1
* provision.actor.reference only Reference(TyokykyOrganization or TyokykyPractitionerRole)
* provision.actor.reference ^comment = "A literal Organization reference, or a logical reference (identifier/display) when the party has no resource here."
* provision.code 1..*
* provision.code from ConsentDataClassVS (required)

Invariant: tyk-con-2
Description: "Suostumusta ei ole peruutettu ennen sen antamista. / A consent is not withdrawn before it was given: the consent-withdrawal-date is not before Consent.dateTime."
Severity: #error
Expression: "extension('https://tyokyky-fhir.org/fhir/StructureDefinition/consent-withdrawal-date').value.ofType(dateTime).where($this < %resource.dateTime).empty()"

Invariant: tyk-con-3
Description: "Luovutuslupa rajataan vain vastaanottajilla, tietoryhmillä ja voimassaololla: toiminto puuttuu tai sisältää luovutuksen (consentaction#disclose), ei poikkeuksia (provision.provision) eikä muita rajauksia, joita luovutussääntö ei lue; rajaus kirjataan suostumuksen uutena versiona. / The permit is limited only by its parties, data classes and period: its action is absent or includes disclosure (consentaction#disclose), no exception (provision.provision) and no other narrowing (data, dataPeriod, securityLabel, purpose, class) that the disclosure rule does not read; a limit is recorded as a new version of the consent."
Severity: #error
Expression: "provision.all((type.empty() or type = 'permit') and (action.empty() or action.coding.where(system = 'http://terminology.hl7.org/CodeSystem/consentaction' and code = 'disclose').exists()) and provision.empty() and data.empty() and dataPeriod.empty() and securityLabel.empty() and purpose.empty() and class.empty())"

Invariant: tyk-con-1
Description: "Peruutettu suostumus on inactive ja sillä on peruutuspäivä, eikä peruutuspäivää ole suostumuksella, joka ei ole inactive. / Withdrawal is status inactive together with the consent-withdrawal-date extension: an inactive consent carries the date, and a consent carrying the date is inactive."
Severity: #error
Expression: "(status = 'inactive') = extension('https://tyokyky-fhir.org/fhir/StructureDefinition/consent-withdrawal-date').exists()"

Profile: TyokykySupportPlan
Parent: CarePlan
Id: tyokyky-support-plan
Title: "Työkyvyn tuen suunnitelma / Work-ability support plan"
Description: """Yhteinen työkyvyn tuen suunnitelma HOI-näkymällä (työkyvyn tuen suunnitelma, aktivointisuunnitelma tai toteuttamissuunnitelma): tavoitteet, palvelut, vastuutyöntekijätiimi, seurantapäivä ja arvio, johon suunnitelma perustuu. Kuntouttava työtoiminta 1–4 päivää viikossa (tyk-rwa-1; päällekkäiset toiminnot yhteensä, tyk-rwa-3) ja 3–24 kuukautta (tyk-rwa-2).

The joint work-ability support plan on the HOI view (work-ability support plan, activation plan or implementation plan, tyk-cpl-1): goals, activities naming work-ability services, the responsible-worker team, follow-up date and the supporting assessment. Rehabilitative work activity runs 1–4 days a week (tyk-rwa-1; all overlapping activities together, tyk-rwa-3) for 3–24 months (tyk-rwa-2)."""
* insert KantaCommon
* insert KantaCreatingApplication
* identifier 1..*
* obeys tyk-cpl-1
* extension contains FollowUpDate named followUpDate 0..1
* extension[followUpDate] MS
* intent = #plan
* category 1..*
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains recordView 1..1 and workAbilitySupportPlan 0..1 and activationPlan 0..1 and implementationPlan 0..1
* category[recordView] = RecordViewCS#HOI
* category[workAbilitySupportPlan] = PlanCategoryCS#work-ability-support-plan
* category[activationPlan] = PlanCategoryCS#activation-plan
* category[implementationPlan] = PlanCategoryCS#implementation-plan
* subject only Reference(TyokykyPatient)
* period 1..1
* period.start 1..1
* created 1..1
* author 1..1
* author only Reference(TyokykyPractitionerRole)
* careTeam only Reference(TyokykyResponsibleWorkerTeam)
* supportingInfo only Reference(TyokykyWorkAbilityAssessment or TyokykyConsent)
* goal 1..*
* goal only Reference(TyokykyGoal)
* activity obeys tyk-rwa-1 and tyk-rwa-2 and tyk-rwa-3
* activity.outcomeCodeableConcept from OnwardPathVS (extensible)
* activity.reference only Reference(TyokykyReferral)
* activity.detail.code 1..1
* activity.detail.code from WorkAbilityServiceVS (required)
* activity.detail.scheduled[x] ^comment = "Rehabilitative work activity: scheduledTiming.repeat with frequency 1–4 per 1 wk (overlapping activities together at most 4) and boundsPeriod with dates to the day (or boundsDuration in months) of 3–24 months."
* activity.detail.goal only Reference(TyokykyGoal)

Invariant: tyk-cpl-1
Description: "Suunnitelmalla on täsmälleen yksi plan-category-laji. / A support plan carries exactly one plan-category category (work-ability support plan, activation plan or implementation plan)."
Severity: #error
Expression: "category.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/plan-category').count() = 1"

Invariant: tyk-rwa-1
Description: "Kuntouttavaa työtoimintaa 1–4 päivää viikossa, myös enimmäistiheys (frequencyMax) ja viikonpäivien määrä. / Rehabilitative work activity is scheduled 1–4 days a week: scheduledTiming.repeat frequency 1–4 per 1 wk, frequencyMax (if any) at most 4, at most 4 days of the week named."
Severity: #error
Expression: "detail.code.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-service' and code = 'rehabilitative-work-activity').exists() implies detail.scheduled.ofType(Timing).repeat.where(period = 1 and periodUnit = 'wk' and frequency >= 1 and frequency <= 4 and (frequencyMax.empty() or frequencyMax <= 4) and dayOfWeek.count() <= 4).exists()"

Invariant: tyk-rwa-2
Description: "Kuntouttava työtoiminta kestää 3–24 kuukautta (jakson alku- ja loppupäivä päivän tarkkuudella, loppupäivä mukaan luettuna). / Rehabilitative work activity lasts 3–24 months (scheduledTiming.repeat.boundsPeriod whose start and end are dates to the day, the end day included, or boundsDuration in months)."
Severity: #error
Expression: "detail.code.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-service' and code = 'rehabilitative-work-activity').exists() implies (detail.scheduled.ofType(Timing).repeat.bounds.ofType(Period).where(start.toString().matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}$') and end.toString().matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}$') and end + 1 day >= start + 3 months and end + 1 day <= start + 24 months).exists() or detail.scheduled.ofType(Timing).repeat.bounds.ofType(Duration).where(code = 'mo' and value >= 3 and value <= 24).exists())"

Invariant: tyk-rwa-3
Description: "Asiakkaalla on kuntouttavaa työtoimintaa yhteensä enintään 4 päivää viikossa: toiminnon alkupäivänä käynnissä olevien toimintojen päivät lasketaan yhteen (esim. 2 päivää verstaalla ja 2 asiakaspalvelussa). / A client's rehabilitative work activity totals at most 4 days a week: the days of the rehabilitative work activities running on the day this one starts (itself included; bounds without dates run on every day) add up to 4 at most, e.g. two days in a workshop and two in customer service."
Severity: #error
Expression: "detail.code.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-service' and code = 'rehabilitative-work-activity').exists() implies %resource.activity.where(detail.code.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-service' and code = 'rehabilitative-work-activity').exists() and iif(detail.scheduled.ofType(Timing).repeat.bounds.ofType(Period).start > %context.detail.scheduled.ofType(Timing).repeat.bounds.ofType(Period).start or detail.scheduled.ofType(Timing).repeat.bounds.ofType(Period).end < %context.detail.scheduled.ofType(Timing).repeat.bounds.ofType(Period).start, false, true)).detail.scheduled.ofType(Timing).repeat.select(iif(frequencyMax.exists(), frequencyMax, frequency)).aggregate($this + $total, 0) <= 4"

Profile: TyokykyGoal
Parent: Goal
Id: tyokyky-goal
Title: "Työkyvyn tuen tavoite / Work-ability goal"
Description: """Asiakkaan kanssa sovittu tavoite työkyvyn tuen suunnitelmassa; muutokset kirjataan.

A goal agreed with the client in the work-ability support plan (e.g. 'four days a week in the workshop by autumn'); changes are recorded. A goal is open (active) or achieved (completed with achievementStatus achieved), tyk-gol-1."""
* insert KantaCommon
* identifier 1..*
* obeys tyk-gol-1
* lifecycleStatus ^comment = "active (open) or completed (achieved): the goal states the work-ability support plan records (tyk-gol-1)."
* achievementStatus ^comment = "Absent or in-progress on an active goal; achieved on a completed one (tyk-gol-1). The first goal-achievement coding is read."
* description.text 1..1
* subject only Reference(TyokykyPatient)
* start[x] 1..1
* start[x] only date
* expressedBy only Reference(TyokykyPatient or TyokykyPractitionerRole)
* addresses only Reference(TyokykyWorkAbilityAssessment)
* outcomeCode from OnwardPathVS (extensible)
* target.due[x] MS

Invariant: tyk-gol-1
Description: "Tavoite on joko avoin (active; saavutusta ei ole kirjattu tai se on in-progress) tai saavutettu (completed ja achieved). / A goal is open (lifecycleStatus active, achievementStatus absent or in-progress) or achieved (lifecycleStatus completed, achievementStatus achieved); the work-ability support plan records no other goal state (proposed, planned, accepted, on hold, cancelled, rejected or entered in error, nor completed without being achieved)."
Severity: #error
Expression: "lifecycleStatus.exists() and ((lifecycleStatus = 'active' and (achievementStatus.empty() or achievementStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/goal-achievement').first().where(code = 'in-progress').exists())) or (lifecycleStatus = 'completed' and achievementStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/goal-achievement').first().where(code = 'achieved').exists()))"

Profile: TyokykyReferral
Parent: ServiceRequest
Id: tyokyky-referral
Title: "Lähete työkyvyn tuen palveluun / Referral to work-ability support"
Description: """Lähete työkyvyn tuen palveluun: palvelu, lähettäjä (sosiaalihuollon ammattilainen tai Rikosseuraamuslaitoksen työntekijä), herätteet ja liitetty suostumus (tyk-ref-1).

A referral (lähete) to a work-ability support service: the service code, the requester (a social-care professional or a Criminal Sanctions Agency employee, see ValueSet referral-requester-role), the triggers as reasons, and the attached consent to data disclosure (tyk-ref-1)."""
* insert KantaCommon
* identifier 1..*
* obeys tyk-ref-1
* status ^comment = "R4's request statuses: a record system completes a served referral and revokes a withdrawn one (e.g. when the attached consent is withdrawn), so the profile leaves status open. The SDK's fromFhir reads only an active referral (the domain keeps no referral status and writes every referral active); the domain API's views read no referrals."
* intent = #order
* code 1..1
* code from WorkAbilityServiceVS (required)
* subject only Reference(TyokykyPatient)
* authoredOn 1..1
* requester 1..1
* requester only Reference(TyokykyPractitionerRole)
* requester ^comment = "The PractitionerRole.code is one of referral-requester-role (social worker, social counsellor, the social-care own worker, Criminal Sanctions Agency employee); checked by the SDK's domain rules because a profile cannot follow the reference."
* performer only Reference(TyokykyOrganization or TyokykyPractitionerRole)
* reasonCode from WorkAbilityTriggerVS (required)
* reasonCode MS
* supportingInfo 1..*
* supportingInfo ^comment = "At least one reference to the client's Consent (Consent/<id>, or type = Consent for urn:uuid references in a Bundle)."

Invariant: tyk-ref-1
Description: "Lähetteeseen on liitetty suostumus: supportingInfo viittaa Consentiin. / The referral's supportingInfo references a Consent (Consent/<id> or type Consent)."
Severity: #error
Expression: "supportingInfo.where(type = 'Consent' or reference.startsWith('Consent/') or reference.contains('/Consent/')).exists()"

ValueSet: ReferralRequesterRoleVS
Id: referral-requester-role
Title: "Lähettäjän rooli / Referral requester role"
Description: "Roles allowed to refer to Helsinki work-ability support: social-care professionals (social worker, social counsellor, and the social-care own worker, who is always one of the two) and Criminal Sanctions Agency employees; a subset of care-team-role."
* insert LocalValueSet
* CareTeamRoleCS#social-worker
* CareTeamRoleCS#social-counsellor
* CareTeamRoleCS#own-worker
* CareTeamRoleCS#criminal-sanctions-agency-employee

Profile: TyokykyResponsibleWorkerTeam
Parent: CareTeam
Id: tyokyky-responsible-worker-team
Title: "Vastuutyöntekijätiimi / Responsible-worker team"
Description: """Asiakkaan ympärillä oleva tiimi: roolit ja jaksot; vähintään yksi nykyinen vastuutyöntekijä (tyk-ctm-1; myös pari); vaihdot säilyvät päättyneinä jaksoina. Kun asiakkuus päättyy, tiimi on inactive ja kaikki jaksot ovat päättyneet (tyk-ctm-2).

The team around the client: each participant with a care-team-role and a period; at least one current responsible worker (a responsible-worker-kind role with an open period, tyk-ctm-1; a pair or a network may share the role); handovers are kept as ended periods. When the client relationship ends, the team is inactive and every period has ended (tyk-ctm-2)."""
* insert KantaCommon
* identifier 1..*
* obeys tyk-ctm-1 and tyk-ctm-2
* subject 1..1
* subject only Reference(TyokykyPatient)
* participant 1..*
* participant.role 1..1
* participant.role from CareTeamRoleVS (required)
* participant.member 1..1
* participant.member only Reference(TyokykyPractitionerRole or TyokykyOrganization or TyokykyPatient)
* participant.period 1..1
* participant.period.start 1..1
* managingOrganization only Reference(TyokykyOrganization)

Invariant: tyk-ctm-1
Description: "Aktiivisella tiimillä vähintään yksi nykyinen vastuutyöntekijä (responsible-worker-kind-rooli, avoin jakso); vastuutyöntekijä voi olla myös pari tai verkosto. Päättyneellä (inactive) tiimillä ei. / A team that is not inactive has at least one participant with a responsible-worker-kind role and an open period (no period.end): the responsible worker may be a pair or a network. The role is the first care-team-role coding of the participant's one role, as the SDK reads it. An inactive team (the client relationship ended) needs none."
Severity: #error
Expression: "(status.exists() and status = 'inactive') or participant.where(role.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/care-team-role' and code.exists()).first().where(code = 'patient-responsible-worker' or code = 'own-worker' or code = 'te-expert' or code = 'kuntakokeilu-coach').exists() and period.end.empty()).exists()"

Invariant: tyk-ctm-2
Description: "Päättyneellä (inactive) tiimillä on päättymispäivä (period.end), ja jokaisen osallistujan jakso on päättynyt viimeistään silloin. / An inactive team (the client relationship ended) carries CareTeam.period.end, and every participant's period has an end not after it."
Severity: #error
Expression: "(status.exists() and status = 'inactive') implies (period.end.exists() and participant.all(period.end.exists()) and participant.where(period.end > %resource.period.end).empty())"
