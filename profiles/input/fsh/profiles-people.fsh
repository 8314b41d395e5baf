Profile: TyokykyPatient
Parent: $fi-patient
Id: tyokyky-patient
Title: "Työkyvyn tuen asiakas / Work-ability support client"
Description: """Työkyvyn tuen asiakas. Henkilötunnus (HETU) pakollinen, kun se tiedetään; tarkistusmerkki tarkistetaan (tyk-hetu-1). Väliaikaiset tunnisteet sallittu. Turvakielto meta.security-merkinnällä.

A client of work-ability support, on FI Base Patient. The personal identity code (HETU) is required when known and its check character is validated (tyk-hetu-1); temporary identifiers are allowed; non-disclosure (turvakielto) is a meta.security label."""
* insert KantaCommon
* identifier 1..*
* identifier obeys tyk-hetu-1
* identifier ^comment = "HETU under system urn:oid:1.2.246.21 (use official, type NNFIN); temporary identifiers under urn:oid:1.2.246.10.<organisation>.<x>."
// FI Base slices meta.security by system with an empty slicing.description, which R4 refuses (an empty
// string is no value): say what the slicing is.
* meta.security ^slicing.description = "Turvamerkinnät jaetaan koodiston (system) mukaan; turvakielto on FI Basen turvamerkintäkoodiston TURVAKIELTO. / Security labels are sliced by system; turvakielto is FI Base's security-label code TURVAKIELTO."
* meta.security[turvakielto].code = #TURVAKIELTO
* meta.security[turvakielto] ^short = "Turvakielto (non-disclosure for personal safety)"
* name 1..*
* birthDate MS
* extension[municipality] MS

Invariant: tyk-hetu-1
Description: "HETU: muoto DDMMYYCZZZQ, vuosisatamerkki (+-YXWVUABCDEF), oikea päivämäärä, joka ei ole tulevaisuudessa, yksilönumero 002–999 ja tarkistusmerkki (DDMMYYZZZ mod 31). / HETU format, century sign, a real date not in the future, individual number 002-999 and the check character (DDMMYYZZZ mod 31 into 0123456789ABCDEFHJKLMNPRSTUVWXY)."
Severity: #error
Expression: "system = 'urn:oid:1.2.246.21' implies (value.matches('^(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}[-+A-FU-Y][0-9]{3}[0-9A-FHJ-NPR-Y]$') and value.substring(7, 3).toInteger() >= 2 and '0123456789ABCDEFHJKLMNPRSTUVWXY'.substring((value.substring(0, 6) + value.substring(7, 3)).toInteger() mod 31, 1) = value.substring(10, 1) and value.substring(0, 2).toInteger() <= iif(value.substring(2, 2) = '02', iif(value.substring(4, 2).toInteger() mod 4 = 0 and (value.substring(4, 2) != '00' or 'ABCDEF'.contains(value.substring(6, 1))), 29, 28), iif(value.substring(2, 2) in ('04' | '06' | '09' | '11'), 30, 31)) and (iif(value.substring(6, 1) = '+', '18', iif('ABCDEF'.contains(value.substring(6, 1)), '20', '19')) + value.substring(4, 2) + '-' + value.substring(2, 2) + '-' + value.substring(0, 2)).toDate() <= today())"

Invariant: tyk-id-1
Description: "Vähintään yksi maailmanlaajuisesti yksilöivä liiketoimintatunniste: urn:ietf:rfc:3986-järjestelmässä urn:uuid- tai urn:oid-arvo (asiakkaalla, Patient, myös HETU). / At least one globally unique business identifier (Kanta): a urn:uuid: or urn:oid: value under system urn:ietf:rfc:3986 (on a client, a Patient, the HETU also is one; on other resources it is not)."
Severity: #error
Expression: "identifier.where(system = 'urn:ietf:rfc:3986' and value.matches('^urn:(uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|oid:[0-2]([.](0|[1-9][0-9]*))+)$')).exists() or (($this is Patient) and identifier.where(system = 'urn:oid:1.2.246.21').exists())"

Profile: TyokykyPractitionerRole
Parent: $fi-practitioner-role
Id: tyokyky-practitioner-role
Title: "Työkyvyn tuen ammattilaisen rooli / Work-ability professional role"
Description: """Ammattilaisen rooli työkyvyn tuen verkostossa (sosiaalityöntekijä, työkykykoordinaattori, TE-asiantuntija, ...).

A professional's role in the work-ability support network (social worker, work-ability coordinator, TE expert, ...), on FI Base PractitionerRole."""
* insert KantaCommon
* identifier 1..*
* practitioner 1..1
* organization 1..1
* organization only Reference(TyokykyOrganization)
* code 1..*
* code from CareTeamRoleVS (extensible)
* period MS

Profile: TyokykyOrganization
Parent: $fi-organization
Id: tyokyky-organization
Title: "Työkyvyn tuen toimija / Work-ability support party"
Description: """Organisaatio työkyvyn tuen verkostossa (sote-keskus, Kela, TE-palvelut, kuntakokeilu, TYP, työeläkelaitos, ...). Laji consent-party-koodistosta, kun sellainen on.

An organisation in the work-ability support network (sote centre, Kela, TE services, kuntakokeilu, TYP, pension institution, ...), on FI Base Organization; type from consent-party where one applies."""
* insert KantaCommon
* identifier 1..*
* name 1..1
* type MS
* type from ConsentPartyVS (preferred)
