// A long-running facade validates whatever its callers send, and a `meta.profile` or a `Coding.system`
// may name anything: what the validator remembers of urls that name nothing loaded stays bounded
// (MAX_REMEMBERED_MISSES), and past the bound a miss is answered as before.
import { describe, expect, it } from 'vitest';
import { StructureCompiler } from '../../../src/validation/compiled.ts';
import { Registry } from '../../../src/validation/registry.ts';
import { MAX_REMEMBERED_MISSES } from '../../../src/validation/util.ts';

describe('profiles that name nothing loaded', () => {
  it('are remembered up to the bound; every one is still answered as unknown', () => {
    const registry = new Registry();
    registry.loadCore();
    const compiler = new StructureCompiler(registry);
    for (let i = 0; i < MAX_REMEMBERED_MISSES + 50; i++)
      expect(compiler.structure(`https://nowhere.test/StructureDefinition/p${i}`)).toBeUndefined();
    const structures = (compiler as unknown as { structures: Map<string, unknown> }).structures;
    expect(structures.size).toBeLessThanOrEqual(MAX_REMEMBERED_MISSES);
    // What is loaded is still found (and remembered) past the bound.
    expect(compiler.structure('http://hl7.org/fhir/StructureDefinition/Patient')?.sd.type).toBe('Patient');
    expect(structures.has('http://hl7.org/fhir/StructureDefinition/Patient')).toBe(true);
  });
});
