// The persona Bundles in examples/personas are generated from examples/tools/personas.ts (one source):
// the committed files equal a fresh generation, validate with 0 errors, and read back to the personas.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderPersonaExamples } from '../../examples/tools/generate-examples.ts';
import { personas } from '../../examples/tools/personas.ts';
import { isDisclosurePermitted, parseHetu, responsibleWorkerOn } from '../../src/domain/index.ts';
import { fromFhir } from '../../src/mapping/index.ts';
import { type Validator, loadProjectValidator } from '../../src/validation/index.ts';

let validator: Validator;
beforeAll(async () => {
  validator = await loadProjectValidator();
});

const fresh = renderPersonaExamples();

describe.each(Object.keys(personas))('persona %s', (name) => {
  const file = `${name}.json`;
  const committed = readFileSync(new URL(`../../examples/personas/${file}`, import.meta.url), 'utf8');

  it('committed file equals a fresh generation (run `npm run build:examples`)', () => {
    expect(committed).toBe(fresh[file]);
  });

  it('validates against the profiles with 0 errors', () => {
    const issues = (validator.validate(JSON.parse(committed)).issue ?? []).filter(
      (i) => i.severity === 'error' || i.severity === 'fatal',
    );
    expect(issues).toEqual([]);
  });

  it('reads back to the persona', () => {
    expect(fromFhir(JSON.parse(committed))).toEqual(personas[name as keyof typeof personas]);
  });

  it('uses a valid 900-series test HETU', () => {
    const r = parseHetu(personas[name as keyof typeof personas].client.hetu!);
    expect(r.valid && r.value.temporary).toBe(true);
  });
});

describe('the stories hold under the rules', () => {
  it("Maija's responsible worker changed on 1 May 2026 and the history is kept", () => {
    const team = personas.maija.teams![0]!;
    expect(responsibleWorkerOn(team, '2026-04-30')?.professionalId).toBe('nurse-koskinen');
    expect(responsibleWorkerOn(team, '2026-05-01')?.professionalId).toBe('sc-lehtonen');
  });

  it("Sirpa's withdrawn consent no longer permits, the new one does (Kela only under the new one)", () => {
    const consents = personas.sirpa.consents!;
    expect(isDisclosurePermitted(consents, 'kela', 'support-plan', '2025-03-01')).toMatchObject({
      permitted: false,
    });
    expect(isDisclosurePermitted(consents, 'kela', 'support-plan', '2025-05-01')).toMatchObject({
      permitted: true,
      consentId: 'sirpa-consent-2025',
    });
  });
});
