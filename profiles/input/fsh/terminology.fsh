// Terminology of DEVELOPERS.md: Finnish displays, Swedish and English designations.
CodeSystem: RecordViewCS
Id: record-view
Title: "Potilaskertomuksen näkymä / Record view"
Description: "Patient-record view (näkymä) on which an entry is recorded."
* insert LocalCodeSystem
* #HOI "Hoitotyö (HOI)"
* insert Designations(#HOI, Vårdarbete (HOI\), Nursing care view (HOI\))

ValueSet: RecordViewVS
Id: record-view
Title: "Potilaskertomuksen näkymä / Record view"
Description: "All codes of record-view."
* insert LocalValueSet
* include codes from system RecordViewCS

CodeSystem: WorkAbilityObservationCS
Id: work-ability-observation
Title: "Työkyvyn havainnot / Work-ability observations"
Description: "Local codes for work-ability observations and their components; no LOINC or SNOMED CT code exists for the single Work Ability Score item."
* insert LocalCodeSystem
* #work-ability-score "Työkykypistemäärä"
* insert Designations(#work-ability-score, Arbetsförmågepoäng, Work Ability Score)
* #work-ability-assessment "Työkyvyn yhteinen arvio"
* insert Designations(#work-ability-assessment, Gemensam bedömning av arbetsförmågan, Joint work-ability assessment)
* #phase "Työkyvyn tuen vaihe"
* insert Designations(#phase, Skede i stödet för arbetsförmågan, Work-ability support phase)
* #client-situation "Asiakkaan tilanne"
* insert Designations(#client-situation, Klientens situation, Client situation)
* #trigger "Heräte"
* insert Designations(#trigger, Signal, Trigger)
* #rehabilitation-need "Kuntoutustarve"
* insert Designations(#rehabilitation-need, Rehabiliteringsbehov, Rehabilitation need)
* #assessment-mismatch "Oman ja lääketieteellisen arvion ristiriita"
* insert Designations(#assessment-mismatch, Motstridighet mellan egen och medicinsk bedömning, Mismatch between own and medical assessment)

ValueSet: WorkAbilityObservationVS
Id: work-ability-observation
Title: "Työkyvyn havainnot / Work-ability observations"
Description: "All codes of work-ability-observation."
* insert LocalValueSet
* include codes from system WorkAbilityObservationCS

CodeSystem: WorkAbilityInterpretationCS
Id: work-ability-interpretation
Title: "Työkykypistemäärän tulkinta / Work Ability Score interpretation"
Description: "Interpretation of the Work Ability Score: 7 or lower means work ability is investigated further."
* insert LocalCodeSystem
* #needs-further-assessment "Työkyky selvitettävä tarkemmin"
* insert Designations(#needs-further-assessment, Arbetsförmågan behöver utredas vidare, Needs further assessment)
* #no-further-assessment "Ei lisäselvitystarvetta"
* insert Designations(#no-further-assessment, Inget behov av vidare utredning, No further assessment needed)

ValueSet: WorkAbilityInterpretationVS
Id: work-ability-interpretation
Title: "Työkykypistemäärän tulkinta / Work Ability Score interpretation"
Description: "All codes of work-ability-interpretation."
* insert LocalValueSet
* include codes from system WorkAbilityInterpretationCS

CodeSystem: AssessmentMethodCS
Id: assessment-method
Title: "Arviointitapa / Assessment method"
Description: "Whether a score was reported by the client or assessed by a professional."
* insert LocalCodeSystem
* #self-reported "Asiakkaan itse ilmoittama"
* insert Designations(#self-reported, Självrapporterad, Self-reported)
* #professional "Ammattilaisen arvioima"
* insert Designations(#professional, Bedömd av yrkesperson, Assessed by a professional)

ValueSet: AssessmentMethodVS
Id: assessment-method
Title: "Arviointitapa / Assessment method"
Description: "All codes of assessment-method."
* insert LocalValueSet
* include codes from system AssessmentMethodCS

CodeSystem: WorkAbilityPhaseCS
Id: work-ability-phase
Title: "Työkyvyn tuen vaihe / Work-ability support phase"
Description: "Phase of work-ability support (primary / secondary / tertiary)."
* insert LocalCodeSystem
* #primary "Primaarivaihe: työkyvyn heikentymisen riski"
* insert Designations(#primary, Primärfas: risk för nedsatt arbetsförmåga, Primary phase: risk of declining work ability)
* #secondary "Sekundaarivaihe: työkyky alentunut (osatyökykyinen)"
* insert Designations(#secondary, [[Sekundärfas: nedsatt arbetsförmåga (partiellt arbetsför)]], [[Secondary phase: reduced work ability (partial work ability)]])
* #tertiary "Tertiaarivaihe: työhön paluun ja työllistymisen kuntoutuksellinen tuki"
* insert Designations(#tertiary, Tertiärfas: rehabiliterande stöd för återgång till arbete och sysselsättning, Tertiary phase: rehabilitative support for return to work and employment)

ValueSet: WorkAbilityPhaseVS
Id: work-ability-phase
Title: "Työkyvyn tuen vaihe / Work-ability support phase"
Description: "All codes of work-ability-phase."
* insert LocalValueSet
* include codes from system WorkAbilityPhaseCS

CodeSystem: ClientSituationCS
Id: client-situation
Title: "Asiakkaan tilanne / Client situation"
Description: "Employment situation of the client that selects the column of actions."
* insert LocalCodeSystem
* #unemployed "Työtön"
* insert Designations(#unemployed, Arbetslös, Unemployed)
* #employed-without-occupational-health "Työssä ilman työterveyshuoltoa"
* insert Designations(#employed-without-occupational-health, I arbete utan företagshälsovård, Employed without occupational health care)
* #employed-with-occupational-health "Työssä ja työterveyshuollon piirissä"
* insert Designations(#employed-with-occupational-health, I arbete med företagshälsovård, Employed with occupational health care)

ValueSet: ClientSituationVS
Id: client-situation
Title: "Asiakkaan tilanne / Client situation"
Description: "All codes of client-situation."
* insert LocalValueSet
* include codes from system ClientSituationCS

CodeSystem: WorkAbilityTriggerCS
Id: work-ability-trigger
Title: "Herätteet / Triggers"
Description: "Signals that prompt a professional to assess work ability."
* insert LocalCodeSystem
* #sick-leave "Sairauspoissaolo tai toistuvat sairauspoissaolot"
* insert Designations(#sick-leave, Sjukfrånvaro eller upprepad sjukfrånvaro, Sick leave or repeated sick leaves)
* #rejected-benefit "Hylätty sairauspäiväraha-, kuntoutustuki- tai eläkehakemus"
* insert Designations(#rejected-benefit, Avslag på sjukdagpenning eller rehabiliteringsstöd eller pension, Rejected sickness allowance or rehabilitation benefit or pension)
* #assessment-mismatch "Oman ja lääketieteellisen arvion ristiriita"
* insert Designations(#assessment-mismatch, Motstridighet mellan egen och medicinsk bedömning, Mismatch between own and medical assessment)
* #broken-work-history "Rikkonainen työhistoria tai useita tuettuja työsuhteita"
* insert Designations(#broken-work-history, Splittrad arbetshistoria eller flera stödda anställningar, Broken work history or several supported jobs)
* #untreated-illness "Hoitamaton sairaus tai oireet"
* insert Designations(#untreated-illness, Obehandlad sjukdom eller symtom, Untreated illness or symptoms)
* #employment-ending "Työterveyshuollon tai työsuhteen päättyminen tai työttömyyden uhka"
* insert Designations(#employment-ending, Företagshälsovården eller anställningen upphör eller hot om arbetslöshet, Occupational health or employment ending or threat of unemployment)
* #low-self-efficacy "Heikko usko omiin kykyihin"
* insert Designations(#low-self-efficacy, Låg tilltro till den egna förmågan, Low sense of own capability)
* #learning-difficulties "Oppimisvaikeudet tai puutteelliset kognitiiviset taidot"
* insert Designations(#learning-difficulties, Inlärningssvårigheter eller bristande kognitiva färdigheter, Learning difficulties or lack of cognitive skills)
* #addiction "Riippuvuudet"
* insert Designations(#addiction, Beroenden, Addictions)

ValueSet: WorkAbilityTriggerVS
Id: work-ability-trigger
Title: "Herätteet / Triggers"
Description: "All codes of work-ability-trigger."
* insert LocalValueSet
* include codes from system WorkAbilityTriggerCS

CodeSystem: CareTeamRoleCS
Id: care-team-role
Title: "Moniammatillisen tiimin roolit / Care-team roles"
Description: "Roles of professionals in the work-ability support network."
* insert LocalCodeSystem
* #patient-responsible-worker "Sote-tiimin potilasvastuullinen työntekijä"
* insert Designations(#patient-responsible-worker, Patientansvarig arbetstagare i social- och hälsovårdsteamet, Patient-responsible worker in the health and social services team)
* #own-worker "Omatyöntekijä"
* insert Designations(#own-worker, Egen arbetstagare, Own worker (social care\))
* #te-expert "TE-asiantuntija"
* insert Designations(#te-expert, TE-sakkunnig, TE services expert)
* #kuntakokeilu-coach "Kuntakokeilun omavalmentaja"
* insert Designations(#kuntakokeilu-coach, Egen coach i kommunförsöket, Municipal employment pilot personal coach)
* #work-ability-coordinator "Työkykykoordinaattori"
* insert Designations(#work-ability-coordinator, Arbetsförmågekoordinator, Work-ability coordinator)
* #job-coach "Työhönvalmentaja"
* insert Designations(#job-coach, Jobbcoach, Job coach)
* #public-health-nurse-unemployed "Työttömien terveydenhoitaja"
* insert Designations(#public-health-nurse-unemployed, Hälsovårdare för arbetslösa, Public health nurse for the unemployed)
* #doctor "Lääkäri"
* insert Designations(#doctor, Läkare, Doctor)
* #psychologist "Psykologi"
* insert Designations(#psychologist, Psykolog, Psychologist)
* #kela-worker "Kelan työntekijä"
* insert Designations(#kela-worker, FPA:s anställd, Kela worker)
* #physiotherapist "Fysioterapeutti"
* insert Designations(#physiotherapist, Fysioterapeut, Physiotherapist)
* #occupational-therapist "Toimintaterapeutti"
* insert Designations(#occupational-therapist, Ergoterapeut, Occupational therapist)
* #healthcare-social-counsellor "Terveydenhuollon sosiaaliohjaaja"
* insert Designations(#healthcare-social-counsellor, Socialhandledare inom hälso- och sjukvården, Health-care social counsellor)
* #substance-abuse-nurse "Päihdehoitaja"
* insert Designations(#substance-abuse-nurse, Missbruksskötare, Substance-abuse nurse)
* #psychiatric-nurse "Psykiatrinen sairaanhoitaja"
* insert Designations(#psychiatric-nurse, Psykiatrisk sjukskötare, Psychiatric nurse)
* #service-coordinator "Palveluohjaaja"
* insert Designations(#service-coordinator, Servicehandledare, Service coordinator)
* #personal-instructor "Omaohjaaja"
* insert Designations(#personal-instructor, Egen handledare, Personal instructor)
* #social-worker "Sosiaalityöntekijä"
* insert Designations(#social-worker, Socialarbetare, Social worker)
* #social-counsellor "Sosiaaliohjaaja"
* insert Designations(#social-counsellor, Socialhandledare, Social counsellor)
* #criminal-sanctions-agency-employee "Rikosseuraamuslaitoksen työntekijä"
* insert Designations(#criminal-sanctions-agency-employee, Anställd vid Brottspåföljdsmyndigheten, Criminal Sanctions Agency employee)

ValueSet: CareTeamRoleVS
Id: care-team-role
Title: "Moniammatillisen tiimin roolit / Care-team roles"
Description: "All codes of care-team-role."
* insert LocalValueSet
* include codes from system CareTeamRoleCS

ValueSet: ResponsibleWorkerKindVS
Id: responsible-worker-kind
Title: "Vastuutyöntekijän laji / Responsible-worker kind"
Description: "Roles that can be the client's responsible worker (vastuutyöntekijä); a subset of care-team-role."
* insert LocalValueSet
* CareTeamRoleCS#patient-responsible-worker
* CareTeamRoleCS#own-worker
* CareTeamRoleCS#te-expert
* CareTeamRoleCS#kuntakokeilu-coach

CodeSystem: WorkAbilityServiceCS
Id: work-ability-service
Title: "Työkyvyn tuen palvelut / Work-ability support services"
Description: "Services a referral or a support plan can point to."
* insert LocalCodeSystem
* #typ "Työllistymistä edistävä monialainen yhteispalvelu (TYP)"
* insert Designations(#typ, Sektorsövergripande samservice som främjar sysselsättningen (TYP\), Multi-sector joint service promoting employment (TYP\))
* #work-ability-coordinator "Työkykykoordinaattori"
* insert Designations(#work-ability-coordinator, Arbetsförmågekoordinator, Work-ability coordinator)
* #social-guidance "Sosiaaliohjaus"
* insert Designations(#social-guidance, Socialhandledning, Social guidance)
* #social-work "Sosiaalityö"
* insert Designations(#social-work, Socialt arbete, Social work)
* #disability-services "Vammaispalvelut"
* insert Designations(#disability-services, Funktionshinderservice, Disability services)
* #unemployed-health-check "Työttömien terveystarkastus"
* insert Designations(#unemployed-health-check, Hälsoundersökning för arbetslösa, Health check for the unemployed)
* #doctor-services "Lääkäripalvelut"
* insert Designations(#doctor-services, Läkartjänster, Doctor's services)
* #examinations "Tutkimukset"
* insert Designations(#examinations, Undersökningar, Examinations)
* #medical-rehabilitation "Lääkinnällinen kuntoutus"
* insert Designations(#medical-rehabilitation, Medicinsk rehabilitering, Medical rehabilitation)
* #rehabilitative-work-activity "Kuntouttava työtoiminta"
* insert Designations(#rehabilitative-work-activity, Arbetsverksamhet i rehabiliteringssyfte, Rehabilitative work activity)
* #social-rehabilitation "Sosiaalinen kuntoutus"
* insert Designations(#social-rehabilitation, Social rehabilitering, Social rehabilitation)
* #arkeen-voimaa "Arkeen voimaa -ryhmä"
* insert Designations(#arkeen-voimaa, Arkeen voimaa-grupp, Arkeen voimaa group)
* #ips-job-coaching "IPS-työhönvalmennus"
* insert Designations(#ips-job-coaching, IPS-jobbcoachning, IPS job coaching)
* #kela-vocational-rehabilitation "Kelan ammatillinen kuntoutus"
* insert Designations(#kela-vocational-rehabilitation, FPA:s yrkesinriktade rehabilitering, Kela vocational rehabilitation)
* #kela-medical-rehabilitation "Kelan lääkinnällinen kuntoutus"
* insert Designations(#kela-medical-rehabilitation, FPA:s medicinska rehabilitering, Kela medical rehabilitation)
* #kela-rehabilitation-psychotherapy "Kelan kuntoutuspsykoterapia"
* insert Designations(#kela-rehabilitation-psychotherapy, FPA:s rehabiliterande psykoterapi, Kela rehabilitation psychotherapy)
* #kela-work-trial "Kelan työkokeilu"
* insert Designations(#kela-work-trial, FPA:s arbetsprövning, Kela work trial)
* #specialised-care-rehabilitation-research "Erikoissairaanhoidon kuntoutustutkimus"
* insert Designations(#specialised-care-rehabilitation-research, Rehabiliteringsundersökning inom den specialiserade sjukvården, Specialised-care rehabilitation research)
* #pension-rehabilitation "Työeläkekuntoutus"
* insert Designations(#pension-rehabilitation, Arbetspensionsrehabilitering, Earnings-related pension rehabilitation)
* #occupational-health "Työterveyshuolto"
* insert Designations(#occupational-health, Företagshälsovård, Occupational health care)
* #helsinki-work-ability-support "Helsingin työkyvyn tuen palvelut"
* insert Designations(#helsinki-work-ability-support, Helsingfors tjänster för stöd för arbetsförmågan, Helsinki work-ability support services)

ValueSet: WorkAbilityServiceVS
Id: work-ability-service
Title: "Työkyvyn tuen palvelut / Work-ability support services"
Description: "All codes of work-ability-service."
* insert LocalValueSet
* include codes from system WorkAbilityServiceCS

CodeSystem: ConsentPartyCS
Id: consent-party
Title: "Tietojen vastaanottajat / Consent receiving parties"
Description: "Parties to which the client permits disclosure of data (Kela Y100-style)."
* insert LocalCodeSystem
* #kela "Kela"
* insert Designations(#kela, FPA, Kela (Social Insurance Institution of Finland\))
* #te-services "TE-palvelut"
* insert Designations(#te-services, TE-tjänsterna, TE services)
* #kuntakokeilu "Työllisyyden kuntakokeilu"
* insert Designations(#kuntakokeilu, Kommunförsöket för sysselsättning, Municipal employment pilot)
* #typ "Työllistymistä edistävä monialainen yhteispalvelu (TYP)"
* insert Designations(#typ, Sektorsövergripande samservice som främjar sysselsättningen (TYP\), Multi-sector joint service promoting employment (TYP\))
* #unemployed-health-check "Työttömien terveystarkastus"
* insert Designations(#unemployed-health-check, Hälsoundersökning för arbetslösa, Health check for the unemployed)
* #other-health-care "Muu terveydenhuolto"
* insert Designations(#other-health-care, Övrig hälso- och sjukvård, Other health care)
* #social-services "Sosiaalipalvelut"
* insert Designations(#social-services, Socialservice, Social services)
* #occupational-health "Työterveyshuolto"
* insert Designations(#occupational-health, Företagshälsovård, Occupational health care)
* #pension-institution "Työeläkelaitos"
* insert Designations(#pension-institution, Arbetspensionsanstalt, Earnings-related pension institution)

ValueSet: ConsentPartyVS
Id: consent-party
Title: "Tietojen vastaanottajat / Consent receiving parties"
Description: "All codes of consent-party."
* insert LocalValueSet
* include codes from system ConsentPartyCS

CodeSystem: ConsentDataClassCS
Id: consent-data-class
Title: "Luovutettavat tietoryhmät / Consent data classes"
Description: "Classes of data the client permits to be disclosed."
* insert LocalCodeSystem
* #identification "Henkilö- ja yhteystiedot"
* insert Designations(#identification, Person- och kontaktuppgifter, Identification and contact data)
* #work-ability-assessment "Työkyvyn arvio"
* insert Designations(#work-ability-assessment, Bedömning av arbetsförmågan, Work-ability assessment)
* #support-plan "Työkyvyn tuen suunnitelma"
* insert Designations(#support-plan, Plan för stöd för arbetsförmågan, Work-ability support plan)
* #health-data "Terveystiedot"
* insert Designations(#health-data, Hälsouppgifter, Health data)
* #social-care-data "Sosiaalihuollon tiedot"
* insert Designations(#social-care-data, Socialvårdsuppgifter, Social-care data)
* #benefits-income "Etuudet ja toimeentulo"
* insert Designations(#benefits-income, Förmåner och utkomst, Benefits and income)
* #employment-history "Työhistoria"
* insert Designations(#employment-history, Arbetshistoria, Employment history)

ValueSet: ConsentDataClassVS
Id: consent-data-class
Title: "Luovutettavat tietoryhmät / Consent data classes"
Description: "All codes of consent-data-class."
* insert LocalValueSet
* include codes from system ConsentDataClassCS

CodeSystem: PlanCategoryCS
Id: plan-category
Title: "Suunnitelman laji / Plan category"
Description: "Kinds of work-ability plans."
* insert LocalCodeSystem
* #work-ability-support-plan "Työkyvyn tuen suunnitelma"
* insert Designations(#work-ability-support-plan, Plan för stöd för arbetsförmågan, Work-ability support plan)
* #activation-plan "Aktivointisuunnitelma"
* insert Designations(#activation-plan, Aktiveringsplan, Activation plan)
* #implementation-plan "Toteuttamissuunnitelma"
* insert Designations(#implementation-plan, Genomförandeplan, Implementation plan)

ValueSet: PlanCategoryVS
Id: plan-category
Title: "Suunnitelman laji / Plan category"
Description: "All codes of plan-category."
* insert LocalValueSet
* include codes from system PlanCategoryCS

CodeSystem: OnwardPathCS
Id: onward-path
Title: "Jatkopolku / Onward path"
Description: "Where the client continues after coaching or support."
* insert LocalCodeSystem
* #work-trial "Työkokeilu"
* insert Designations(#work-trial, Arbetsprövning, Work trial)
* #te-services "TE-palvelut"
* insert Designations(#te-services, TE-tjänsterna, TE services)
* #paid-work "Palkkatyö"
* insert Designations(#paid-work, Lönearbete, Paid work)
* #pay-subsidised-work "Palkkatuettu työ"
* insert Designations(#pay-subsidised-work, Arbete med lönesubvention, Pay-subsidised work)
* #studies "Opinnot"
* insert Designations(#studies, Studier, Studies)
* #rehabilitation "Kuntoutus"
* insert Designations(#rehabilitation, Rehabilitering, Rehabilitation)
* #sick-leave "Sairausloma"
* insert Designations(#sick-leave, Sjukledighet, Sick leave)
* #pension "Eläke"
* insert Designations(#pension, Pension, Pension)

ValueSet: OnwardPathVS
Id: onward-path
Title: "Jatkopolku / Onward path"
Description: "All codes of onward-path."
* insert LocalValueSet
* include codes from system OnwardPathCS

