// CommonJS: require() of the ESM SDK entry (Node >= 20.19 loads ESM without top-level await this way).
const sdk = require('tyokyky-fhir');
const score = sdk.workAbility;
console.log(JSON.stringify({ toFhir: typeof sdk.toFhir, fromFhir: typeof sdk.fromFhir, builders: typeof score }));
