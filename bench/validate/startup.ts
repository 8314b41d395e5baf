// Measures a cold start in a fresh process: import the validator and load R4 core + FI Base (+ our
// package when present). Prints one JSON line for bench/validate/index.ts.
const t0 = performance.now();
const { createValidator } = await import('../../src/validation/index.ts');
const tImport = performance.now();
const withProfiles = process.argv.includes('--project');
const { existsSync } = await import('node:fs');
const { join } = await import('node:path');
const { PROJECT_ROOT } = await import('../../src/validation/packages.ts');
const own = join(PROJECT_ROOT, 'profiles', 'package');
const validator = await createValidator({
  packages: withProfiles && existsSync(own) ? [own] : [],
  fiBase: true,
});
const tLoad = performance.now();
// First validation compiles the Patient plan; part of what a CLI user waits for.
validator.validate({ resourceType: 'Patient', id: 'x', active: true });
const tFirst = performance.now();
const fiBase =
  validator.registry.resolve(
    'https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/fi-base-patient',
  ) !== undefined;
process.stdout.write(
  `${JSON.stringify({
    importMs: tImport - t0,
    loadMs: tLoad - tImport,
    firstValidateMs: tFirst - tLoad,
    rssMb: process.memoryUsage().rss / 1024 / 1024,
    fiBase,
  })}\n`,
);
