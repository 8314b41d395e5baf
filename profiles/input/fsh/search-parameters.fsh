// Search parameters R4 does not define and the facade's store indexes like its own.
Instance: observation-value-integer
InstanceOf: SearchParameter
Usage: #definition
Title: "Observation value as an integer"
* url = "https://tyokyky-fhir.org/fhir/SearchParameter/observation-value-integer"
* name = "ObservationValueInteger"
* status = #active
* experimental = false
* description = "The value of an Observation whose value is an integer, e.g. the Work Ability Score (0–10): Observation?code=https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-observation|work-ability-score&value-integer=le7 finds the scores that call for a closer look at work ability. R4 defines value-quantity for Quantity values only."
* code = #value-integer
* base = #Observation
* type = #number
* expression = "(Observation.value as integer)"
* xpathUsage = #normal
* comparator[0] = #eq
* comparator[+] = #ne
* comparator[+] = #gt
* comparator[+] = #lt
* comparator[+] = #ge
* comparator[+] = #le
* comparator[+] = #sa
* comparator[+] = #eb
* comparator[+] = #ap
