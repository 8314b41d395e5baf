import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProfiles, locateFiBase } from '../../profiles/build.ts';
import { PACKAGE } from './fixtures.ts';
import { sushiBuild } from './sushi-build.ts';

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

const fiBase = locateFiBase();
if (!fiBase) {
  console.warn(
    'tests/profiles/build: hl7.fhir.fi.base#2.0.0-rc2 not found (../shared/fhir-packages, TYOKYKY_FHIR_PACKAGES, ~/.fhir/packages); skipping the rebuild comparison',
  );
}

describe('profiles build', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tyokyky-profiles-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.skipIf(!fiBase)(
    'an offline SUSHI build of the current inputs equals the committed profiles/package (built once per set of inputs, ./sushi-build.ts)',
    async () => {
      const { out, sushiLog } = await sushiBuild(buildProfiles, fiBase!);
      expect(sushiLog).not.toMatch(/^error /m);
      const committed = files(PACKAGE).map((f) => relative(PACKAGE, f));
      const fresh = files(out).map((f) => relative(out, f));
      expect(fresh).toEqual(committed);
      for (const f of committed) {
        expect(
          readFileSync(join(out, f), 'utf8'),
          `${f} differs; run npm run build:profiles and commit`,
        ).toBe(readFileSync(join(PACKAGE, f), 'utf8'));
      }
    },
    300_000,
  );

  it('fails with a clear message when FI Base cannot be found', async () => {
    const nowhere = join(tmp, 'nowhere');
    await expect(
      buildProfiles({ searchPath: [nowhere], out: join(tmp, 'never'), work: join(tmp, 'w2') }),
    ).rejects.toThrow(`hl7.fhir.fi.base#2.0.0-rc2 not found; searched ${nowhere}`);
  });
});
