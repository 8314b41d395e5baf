import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator, loadProjectValidator } from '../../../src/validation/index.ts';
import { openPackage } from '../../../src/validation/packages.ts';
import { errors } from './helpers.ts';

const FI_TGZ = join(process.cwd(), '..', 'shared', 'fhir-packages', 'hl7.fhir.fi.base-2.0.0-rc2.tgz');
const IG_EXAMPLES = join(process.cwd(), 'profiles', 'package', 'example');

/** Errors on published examples that the reference validator reports too (see docs/validation.md). */
// None: the Appointment example's FI scheduling extension lies under an extension domain FI Base's
// ImplementationGuide declares (https://hl7.fi/), so it is information, as in the HL7 validator.
const KNOWN: Record<string, string[]> = {};

function examples(dir: string): Array<[string, Record<string, unknown>]> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8'))]);
}

describe.skipIf(!existsSync(FI_TGZ))('FI Base examples', () => {
  let v: Validator;
  let dir: string;
  beforeAll(async () => {
    v = await createValidator({ packages: [FI_TGZ] });
    dir = join(openPackage(FI_TGZ).dir, 'example');
  });

  it('validate with no errors beyond the documented ones', () => {
    const found: Record<string, string[]> = {};
    for (const [file, resource] of examples(dir)) {
      const e = errors(v.validate(resource));
      if (e.length) found[file] = e;
    }
    expect(found).toEqual(KNOWN);
  });
});

// The IG package is built by the profiles stage; when it is present its examples must pass.
describe.skipIf(!existsSync(IG_EXAMPLES))('project IG examples', () => {
  it('validate with no errors', async () => {
    const v = await loadProjectValidator();
    const found: Record<string, string[]> = {};
    for (const [file, resource] of examples(IG_EXAMPLES)) {
      const e = errors(v.validate(resource));
      if (e.length) found[file] = e;
    }
    expect(found).toEqual({});
  });

  it("give no unknown-code warning for FI Base's NNFIN identifier type (v2-0203 NN + country code)", async () => {
    const v = await loadProjectValidator();
    const patients = examples(IG_EXAMPLES).filter(([f]) => f.startsWith('Patient-'));
    expect(patients.length).toBeGreaterThan(0);
    for (const [file, resource] of patients) {
      const diagnostics = (v.validate(resource).issue ?? []).map((i) => i.diagnostics ?? '');
      expect(
        diagnostics.filter((d) => d.includes('Unknown code')),
        file,
      ).toEqual([]);
    }
  });
});

describe.skipIf(!existsSync(IG_EXAMPLES))('project IG examples without values in messages', () => {
  it('a finding listing several codings (system#code, …) names the systems, never the codes', async () => {
    const v = await loadProjectValidator();
    const [, role] = examples(IG_EXAMPLES).find(([f]) => f === 'PractitionerRole-coach-koskinen.json') ?? [];
    const system = 'https://tyokyky-fhir.org/fhir/CodeSystem/care-team-role';
    const changed = {
      ...role,
      code: [
        {
          coding: [
            { system, code: 'ZZSECRET' },
            { system, code: 'QQSECRET' },
          ],
        },
      ],
    };
    const quiet = (v.validate(changed, { valuesInMessages: false }).issue ?? [])
      .map((i) => i.diagnostics)
      .join('\n');
    expect(quiet).toContain(`(codes = ${system}#…, ${system}#…)`);
    expect(quiet).not.toMatch(/ZZSECRET|QQSECRET/);
    expect(
      v
        .validate(changed)
        .issue?.map((i) => i.diagnostics)
        .join('\n'),
    ).toContain(`${system}#ZZSECRET, `);
  });
});
