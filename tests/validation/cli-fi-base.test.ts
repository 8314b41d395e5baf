// `tyokyky validate` and FI Base, in this process: with FI Base found, `--require-fi-base` validates and
// FI Base's own rules are checked, with no FI Base line. The missing case (one stderr line; exit 2 with
// `--require-fi-base`) needs a search path without ../shared: the installed package, in
// tests/package/pack.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { toFhir } from '../../src/mapping/index.ts';
import { findFiBase } from '../../src/validation/packages.ts';
import { runHere } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-validate-fi-base-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FOUND = findFiBase();
const NEEDS_FI = FOUND
  ? ''
  : ' [skipped: needs hl7.fhir.fi.base-2.0.0-rc2 in ../shared/fhir-packages, TYOKYKY_FHIR_PACKAGES or ~/.fhir/packages]';

const patient = toFhir(suvi)
  .entry?.map((e) => e.resource)
  .find((r) => r?.resourceType === 'Patient') as Patient;
const good = join(dir, 'patient.json');
writeFileSync(good, JSON.stringify(patient));
const stringMunicipality = join(dir, 'string-municipality.json');
writeFileSync(
  stringMunicipality,
  JSON.stringify({
    ...patient,
    extension: patient.extension?.map(({ valueCoding, ...e }) =>
      e.url.endsWith('/municipality-code') ? { ...e, valueString: valueCoding?.code } : { ...e, valueCoding },
    ),
  }),
);

describe('tyokyky validate --require-fi-base', { timeout: 120_000 }, () => {
  it('--help lists it', async () => {
    const help = (await runHere(['validate', '--help'])).out.replace(/\s+/g, ' ');
    expect(help).toContain('--require-fi-base exit 2 when FI Base (hl7.fhir.fi.base) is not found');
  });

  it.skipIf(!FOUND)(
    `FI Base found: validates, checks FI Base's own rules, and says nothing of FI Base${NEEDS_FI}`,
    async () => {
      const ok = await runHere(['validate', '--require-fi-base', '--no-progress', good]);
      expect(ok.out).not.toContain('FI Base');
      expect(ok.code, ok.out).toBe(0);
      const bad = await runHere(['validate', '--require-fi-base', '--no-progress', stringMunicipality]);
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(/Patient\.extension\[0\]\.valueString .*municipality-code/);
      expect(bad.out).not.toContain('FI Base (');
    },
  );
});
