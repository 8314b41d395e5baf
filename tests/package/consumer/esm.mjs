// A vendor's plain ESM script: every public entry imported by package name; map, validate, serve one request.
import { toFhir } from 'tyokyky-fhir';
import { createApp } from 'tyokyky-fhir/server';
import { openStore } from 'tyokyky-fhir/store';
import { createSync } from 'tyokyky-fhir/sync';
import { installFhirMatchers } from 'tyokyky-fhir/testing';
import { loadProjectValidator } from 'tyokyky-fhir/validation';

const bundle = toFhir(
  {
    client: { id: 'c-1', hetu: '010181-900C', name: { family: 'Virtanen', given: ['Suvi'] } },
  },
  { language: 'fi', application: { name: 'Vendor EHR', applicationId: 'vendor-ehr-kela-id' } },
);
const validator = await loadProjectValidator();
const patient = bundle.entry.find((e) => e.resource.resourceType === 'Patient').resource;
const issues = validator.validate(patient).issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');

const store = await openStore({ dataDir: 'memory://' });
const app = createApp({ store, validator });
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const res = await fetch(`http://127.0.0.1:${server.address().port}/fhir/metadata`);
const metadata = await res.json();
server.close();
await store.close();

const internal = [];
for (const path of ['tyokyky-fhir/dist/mapping/index.js', 'tyokyky-fhir/src/mapping/index.ts']) {
  try {
    await import(path);
    internal.push({ path, code: 'loaded' });
  } catch (e) {
    internal.push({ path, code: e.code });
  }
}

console.log(
  JSON.stringify({
    bundleType: bundle.type,
    entries: bundle.entry.length,
    patientErrors: issues.length,
    packages: validator.packages.map((p) => p.name),
    status: res.status,
    metadataType: metadata.resourceType,
    fhirVersion: metadata.fhirVersion,
    createSync: typeof createSync,
    installFhirMatchers: typeof installFhirMatchers,
    internal,
  }),
);
