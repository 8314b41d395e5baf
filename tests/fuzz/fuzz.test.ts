// The fuzzer (`npm run fuzz`) kept honest: its mutations are deterministic and planted markers traceable,
// a fault is found and counted once, and a few hundred cases of each target pass here (longer runs by hand).
import { describe, expect, it } from 'vitest';
import { fuzz } from './fuzz.ts';
import { MARKER, MARKERS, mutate, plantedAt, random } from './mutate.ts';
import { TARGETS, type Target } from './targets.ts';

const SEED = { resourceType: 'Patient', name: [{ family: 'Korhonen', given: ['Suvi'] }], active: true };

describe('mutations', () => {
  it('are the same for the same seed number and differ for another', () => {
    const run = (seed: number) => {
      const rng = random(seed);
      return Array.from({ length: 50 }, () => JSON.stringify(mutate(SEED, rng)));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    expect(new Set(run(7)).size).toBeGreaterThan(10);
  });

  it('number each planted marker, so a quote leads back to the member it was planted in', () => {
    const rng = random(3);
    const inputs = Array.from({ length: 200 }, () => mutate(SEED, rng));
    const planted = inputs.map((i) => plantedAt(i)).filter((m) => m.size > 0);
    expect(planted.length).toBeGreaterThan(20);
    for (const m of planted) {
      for (const [marker, at] of m) {
        expect(marker).toMatch(new RegExp(`^${MARKER}\\d+$`));
        expect(at.value).toContain(marker);
      }
    }
    expect(JSON.stringify(SEED)).not.toMatch(MARKERS);
  });
});

describe('the loop', () => {
  it('reports each kind of fault once, with the case that first showed it', async () => {
    const planted: Target = {
      name: 'planted',
      what: 'refuses every input with a planted marker',
      open: async () => ({
        seeds: [SEED],
        check: async (input) => (JSON.stringify(input).includes(MARKER) ? 'marker seen' : undefined),
        close: async () => undefined,
      }),
    };
    const run = await fuzz(planted, { seed: 5, cases: 300 });
    expect(run.cases).toBe(300);
    expect(run.findings).toHaveLength(1);
    expect(run.findings[0]).toMatchObject({ target: 'planted', signature: 'marker seen' });
    expect(JSON.stringify(run.findings[0]?.input)).toMatch(MARKERS);
  });
});

describe('each target, a few hundred cases', () => {
  const CASES: Record<string, number> = {
    validator: 300,
    'validator-privacy': 300,
    'sdk-from': 300,
    'sdk-to': 300,
    'facade-write': 50,
    'facade-validate': 80,
    'facade-search': 80,
    'facade-api': 80,
    'facade-update': 80,
    'facade-model': 12,
    'kanta-write': 80,
    'kanta-model': 12,
    'facade-auth': 80,
    'facade-party': 40,
    'sync-pull': 80,
    'sync-push': 15,
    'sync-push-bundle': 15,
    'sync-model': 10,
    'kanta-sync-model': 6,
  };

  it('covers every target', () => {
    expect(TARGETS.map((t) => t.name).sort()).toEqual(Object.keys(CASES).sort());
  });

  // The model targets run a few seconds alone and three times that in a busy suite.
  it.each(TARGETS.map((t) => [t.name, t] as const))(
    '%s finds nothing',
    async (name, target) => {
      const run = await fuzz(target, { seed: 1, cases: CASES[name] });
      expect(run.cases).toBe(CASES[name]);
      expect(run.findings.map((f) => `${f.signature} (case ${f.case})`)).toEqual([]);
    },
    90_000,
  );
});
