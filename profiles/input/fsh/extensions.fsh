Extension: ConsentWithdrawalDate
Id: consent-withdrawal-date
Title: "Suostumuksen peruutuspäivä / Consent withdrawal date"
Description: "Päivä, jona asiakas peruutti suostumuksen. / The date the client withdrew the consent; required when Consent.status is inactive (tyk-con-1)."
* ^context[+].type = #element
* ^context[=].expression = "Consent"
* value[x] only dateTime
* value[x] 1..1

Extension: ConsentReceivingParty
Id: consent-receiving-party
Title: "Tietojen vastaanottaja / Receiving party"
Description: "Vastaanottajan laji Kelan Y100-lomakkeen mukaisesti. / The kind of party the client permits data to be disclosed to (Kela Y100-style), on Consent.provision.actor."
* ^context[+].type = #element
* ^context[=].expression = "Consent.provision.actor"
* value[x] only CodeableConcept
* value[x] 1..1
* value[x] from ConsentPartyVS (required)

Extension: FollowUpDate
Id: follow-up-date
Title: "Seurantapäivä / Follow-up date"
Description: "Seuraavan seuranta- ja arviointitapaamisen päivä. / Date of the next follow-up and evaluation of the plan."
* ^context[+].type = #element
* ^context[=].expression = "CarePlan"
* value[x] only date
* value[x] 1..1
