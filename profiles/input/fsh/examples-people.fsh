// Persona examples from DOMAIN.md; HETUs use the 900-999 test series.

Instance: maija
InstanceOf: TyokykyPatient
Title: "Maija (minimal Patient)"
Description: "Minimal client: HETU and name only."
Usage: #example
* insert ExampleCommon(Maija Meikäläinen 030879-904X)
* insert Hetu(030879-904X)
* name.family = "Meikäläinen"
* name.given = "Maija"

Instance: suvi
InstanceOf: TyokykyPatient
Title: "Suvi (maximal Patient)"
Description: "Maximal client: HETU and a temporary identifier, municipality, profession, contact details, turvakielto."
Usage: #example
* insert ExampleCommon(Suvi Virtanen 120395-902S - turvakielto)
* meta.security[turvakielto] = $fi-security#TURVAKIELTO "Turvakielto"
* insert Hetu(120395-902S)
* identifier[+].use = #temp
* identifier[=].system = "urn:oid:1.2.246.10.1234567.10.1"
* identifier[=].value = "TEMP-2026-0042"
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000001)
* extension[municipality].valueCoding = urn:oid:1.2.246.537.6.21#091 "Helsinki"
* active = true
* name.use = #official
* name.family = "Virtanen"
* name.given = "Suvi"
* telecom.system = #phone
* telecom.value = "+358 40 000 0000"
* gender = #female
* birthDate = "1995-03-12"
* address.city = "Helsinki"
* address.postalCode = "00100"
* address.country = "FI"
* communication.language = urn:ietf:bcp:47#fi "suomi"
* communication.preferred = true
* managingOrganization = Reference(helsinki-sote)

Instance: sirpa
InstanceOf: TyokykyPatient
Title: "Sirpa (Patient, 2023 century sign Y)"
Description: "Client whose HETU uses the century sign Y introduced in 2023."
Usage: #example
* insert ExampleCommon(Sirpa Korhonen 250675Y906J)
* insert Hetu(250675Y906J)
* name.family = "Korhonen"
* name.given = "Sirpa"
* birthDate = "1975-06-25"

Instance: kela
InstanceOf: TyokykyOrganization
Title: "Kela (minimal Organization)"
Usage: #example
* insert ExampleCommon(Kela)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000004)
* name = "Kela"
* type = ConsentPartyCS#kela

Instance: helsinki-sote
InstanceOf: TyokykyOrganization
Title: "Helsinki social services (maximal Organization)"
Usage: #example
* insert ExampleCommon(Helsingin kaupunki - sosiaali- ja terveyspalvelut)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000002)
* active = true
* type[+] = ConsentPartyCS#social-services "Sosiaalipalvelut"
* type[+] = ConsentPartyCS#other-health-care "Muu terveydenhuolto"
* name = "Helsingin kaupunki, sosiaali- ja terveyspalvelut"
* alias = "Helsingfors stad, social- och hälsovårdstjänster"
* telecom.system = #phone
* telecom.value = "+358 9 310 1611"
* address.city = "Helsinki"
* address.country = "FI"

Instance: kuntakokeilu-helsinki
InstanceOf: TyokykyOrganization
Title: "Helsinki municipal employment pilot (Organization)"
Usage: #example
* insert ExampleCommon(Helsingin työllisyyden kuntakokeilu)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000003)
* type = ConsentPartyCS#kuntakokeilu
* name = "Helsingin työllisyyden kuntakokeilu"
* partOf = Reference(helsinki-sote)

Instance: social-worker-laine
InstanceOf: TyokykyPractitionerRole
Title: "Social worker (maximal PractitionerRole)"
Usage: #example
* insert ExampleCommon(Sosiaalityöntekijä Laine - Helsingin sote)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000011)
* active = true
* period.start = "2024-01-01"
* practitioner.display = "Leena Laine"
* practitioner.identifier.system = "urn:oid:1.2.246.537.26"
* practitioner.identifier.value = "900123456"
* organization = Reference(helsinki-sote)
* code[+] = CareTeamRoleCS#social-worker "Sosiaalityöntekijä"
* code[+] = CareTeamRoleCS#own-worker "Omatyöntekijä"
* telecom.system = #email
* telecom.value = "leena.laine@example.fi"

Instance: coordinator-nieminen
InstanceOf: TyokykyPractitionerRole
Title: "Work-ability coordinator (minimal PractitionerRole)"
Usage: #example
* insert ExampleCommon(Työkykykoordinaattori Nieminen)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000012)
* practitioner.display = "Mikko Nieminen"
* organization = Reference(helsinki-sote)
* code = CareTeamRoleCS#work-ability-coordinator

Instance: coach-koskinen
InstanceOf: TyokykyPractitionerRole
Title: "Kuntakokeilu personal coach (PractitionerRole)"
Usage: #example
* insert ExampleCommon(Kuntakokeilun omavalmentaja Koskinen)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000013)
* practitioner.display = "Anna Koskinen"
* organization = Reference(kuntakokeilu-helsinki)
* code = CareTeamRoleCS#kuntakokeilu-coach

Instance: counsellor-lahtinen
InstanceOf: TyokykyPractitionerRole
Title: "Social counsellor (PractitionerRole)"
Usage: #example
* insert ExampleCommon(Sosiaaliohjaaja Lahtinen)
* insert ExampleUuid(5b4c1f3e-2a10-5c3d-8e11-000000000014)
* practitioner.display = "Jussi Lahtinen"
* organization = Reference(helsinki-sote)
* code = CareTeamRoleCS#social-counsellor
