Extension: CreatingApplication
Id: creating-application
Title: "Luonut sovellus / Creating application"
Description: "Ohjelmisto, jolla tieto on luotu (Kanta PHR vaatii). / The application that created the resource, as Kanta PHR requires; maps to http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication."
* ^context[+].type = #element
* ^context[=].expression = "DomainResource"
* extension contains name 1..1 and version 0..1
* extension[name].value[x] only string
* extension[name] ^short = "Application name"
* extension[version].value[x] only string
* extension[version] ^short = "Application version"
