// The snapshot generator against HL7's own: every R4 core constraint profile and extension ships
// both a differential and the snapshot the HL7 tooling generated from it. Regenerating from the
// differential must succeed and must never be stricter than the published snapshot (a stricter
// generated snapshot would turn valid resources into rejects).
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { beforeAll, expect, it } from 'vitest';
import type { Registry } from '../../../src/validation/index.ts';
import { createValidator } from '../../../src/validation/index.ts';
import { generateSnapshot } from '../../../src/validation/snapshot.ts';

let registry: Registry;
beforeAll(async () => {
  registry = (await createValidator({ fiBase: false, terminology: false, invariants: false }))
    .registry as Registry;
});

const maxOf = (e: ElementDefinition) => (e.max === '*' ? Number.POSITIVE_INFINITY : Number(e.max ?? '1'));
const typesOf = (e: ElementDefinition) => (e.type ?? []).map((t) => t.code ?? '');

/**
 * The published element a generated one is compared with: for a choice the HL7 tooling rewrote into
 * a single type slice (`Observation.valueQuantity` → `value[x]:valueQuantity`), that slice.
 */
function publishedFor(id: string, pub: Map<string, ElementDefinition>): ElementDefinition | undefined {
  const own = pub.get(id);
  if (!own || !id.endsWith('[x]')) return own;
  const slices = [...pub.values()].filter(
    (e) => e.id?.startsWith(`${id}:`) && !e.id.includes('.', id.length),
  );
  return slices.length === 1 ? slices[0] : own;
}

function stricterThanPublished(sd: StructureDefinition, generated: ElementDefinition[]): string[] {
  const pub = new Map((sd.snapshot?.element ?? []).map((e) => [e.id ?? e.path, e]));
  const out: string[] = [];
  for (const g of generated) {
    const p = publishedFor(g.id ?? g.path, pub);
    if (!p) continue;
    const id = `${sd.url} ${g.id}`;
    if ((g.min ?? 0) > (p.min ?? 0)) out.push(`${id}: min ${g.min} > ${p.min}`);
    if (maxOf(g) < maxOf(p)) out.push(`${id}: max ${g.max} < ${p.max}`);
    const missing = typesOf(p).filter((t) => !typesOf(g).includes(t));
    if (missing.length) out.push(`${id}: types without ${missing.join(', ')}`);
  }
  return out;
}

it('regenerates the R4 core profiles and extensions from their differentials, never stricter than published', () => {
  let generated = 0;
  const failed: string[] = [];
  const stricter: string[] = [];
  for (const info of registry.structureDefinitionInfo()) {
    const sd = registry.structureDefinition(info.url);
    if (sd?.derivation !== 'constraint' || !sd.snapshot || !sd.differential || !sd.baseDefinition) continue;
    const base = registry.structureDefinition(sd.baseDefinition);
    if (!base?.snapshot) continue;
    const elements = generateSnapshot(sd, base, (u) => registry.structureDefinition(u));
    if (!elements) {
      failed.push(sd.url);
      continue;
    }
    generated++;
    stricter.push(...stricterThanPublished(sd, elements));
  }
  expect(generated).toBeGreaterThan(430);
  // picoelement's differential names EvidenceVariable.characteristic.participantEffective[x], which R4 lacks.
  expect(failed).toEqual(['http://hl7.org/fhir/StructureDefinition/picoelement']);
  expect(stricter).toEqual([]);
});
