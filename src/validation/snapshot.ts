// Snapshot generation for differential-only constraint profiles and extensions. Each differential
// element is located in (a copy of) the base snapshot by its id, unrolling what the base leaves folded
// on the way, then merged onto it. What is covered: datatype children (`Patient.identifier.system`),
// contentReference children, slices at any depth (a slice is a copy of the sliced element with its
// subtree, so `Observation.component:systolic.code.coding:loinc` works), renamed choice paths
// (`Observation.valueQuantity` = `value[x]` restricted to Quantity; `value[x]:valueQuantity` slices),
// and differentials without ids or with ids that do not match their paths (the element's id is then
// derived from its path and the slice it follows, as differentials were read before ids existed).
// Reslicing (`a/b` slice names) and anything not locatable give undefined: the definition is then
// reported as having no snapshot and left unchecked, never guessed.
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

type Resolve = (url: string) => StructureDefinition | undefined;

export function generateSnapshot(
  sd: StructureDefinition,
  base: StructureDefinition,
  resolve: Resolve,
): ElementDefinition[] | undefined {
  const diff = sd.differential?.element;
  const baseEls = base.snapshot?.element;
  // A `specialization` of its own base type (no new type) is expanded as a constraint, as the HL7
  // snapshot generator does; a real new type (a logical model) is not.
  if (!diff?.length || !baseEls?.length || base.type !== sd.type) return undefined;
  if (sd.derivation !== 'constraint' && sd.derivation !== 'specialization') return undefined;
  const builder = new SnapshotBuilder(baseEls, resolve);
  const ids = new DifferentialIds();
  for (const d of diff) {
    const id = ids.next(d);
    const at = id === undefined ? -1 : builder.locate(id);
    if (at < 0) return undefined;
    merge(builder.out[at]!, d);
  }
  return builder.out;
}

/**
 * The snapshot id of each differential element: its own id when it matches its path (slice names
 * aside), else derived from the path and the slices of the elements before it (a child follows the
 * slice it belongs to).
 */
class DifferentialIds {
  /** Path → id of the last element seen with that path. */
  private readonly current = new Map<string, string>();

  next(d: ElementDefinition): string | undefined {
    const path = d.path;
    if (!path) return undefined;
    let id = d.id && withoutSlices(d.id) === path ? d.id : undefined;
    if (!id) {
      const dot = path.lastIndexOf('.');
      const own = dot < 0 ? path : `${this.idOf(path.slice(0, dot))}.${path.slice(dot + 1)}`;
      id = d.sliceName ? `${own}:${d.sliceName}` : own;
    }
    for (const k of this.current.keys()) if (k.startsWith(`${path}.`)) this.current.delete(k);
    this.current.set(path, id);
    return id;
  }

  private idOf(path: string): string {
    const known = this.current.get(path);
    if (known) return known;
    const dot = path.lastIndexOf('.');
    return dot < 0 ? path : `${this.idOf(path.slice(0, dot))}.${path.slice(dot + 1)}`;
  }
}

/** The snapshot being built: the base's elements, unrolled and sliced as the differential needs. */
class SnapshotBuilder {
  readonly out: ElementDefinition[];

  constructor(
    baseEls: ElementDefinition[],
    private readonly resolve: Resolve,
  ) {
    this.out = baseEls.map((e) => structuredClone(e));
  }

  /** Index of the element with this (differential) id, created as needed; -1 when impossible. */
  locate(id: string): number {
    const segs = id.split('.');
    let cur = segs[0]!;
    let at = this.find(cur);
    if (at !== 0 || cur.includes(':')) return -1;
    for (const seg of segs.slice(1)) {
      const colon = seg.indexOf(':');
      const name = colon < 0 ? seg : seg.slice(0, colon);
      let childId = `${cur}.${name}`;
      at = this.child(at, cur, childId);
      if (at < 0) {
        const renamed = this.renamedChoice(cur, name);
        if (!renamed) return -1;
        [childId, at] = renamed;
      }
      if (colon >= 0) {
        const sliceName = seg.slice(colon + 1);
        at = this.slice(at, childId, sliceName);
        childId = `${childId}:${sliceName}`;
      }
      if (at < 0) return -1;
      cur = childId;
    }
    return at;
  }

  private find(id: string): number {
    return this.out.findIndex((e) => (e.id ?? e.path) === id);
  }

  /** The child `childId` of the element at `at`, unrolling the parent's type when it has no children yet. */
  private child(at: number, parentId: string, childId: string): number {
    const found = this.find(childId);
    if (found >= 0 || this.hasChildren(at, parentId)) return found;
    return this.unroll(at, parentId) ? this.find(childId) : -1;
  }

  private hasChildren(at: number, id: string): boolean {
    const next = this.out[at + 1];
    return !!next && (next.id ?? next.path).startsWith(`${id}.`);
  }

  /**
   * `valueQuantity` under `parentId`: the choice `value[x]` restricted to Quantity (the differential
   * renames a choice to constrain it to one type). A second type for the same choice gives undefined.
   */
  private renamedChoice(parentId: string, name: string): [string, number] | undefined {
    for (let i = name.length - 1; i > 0; i--) {
      if (name[i] < 'A' || name[i] > 'Z') continue;
      const choiceId = `${parentId}.${name.slice(0, i)}[x]`;
      const at = this.find(choiceId);
      if (at < 0) continue;
      const el = this.out[at]!;
      const type = typeOfSuffix(el, name.slice(i));
      if (!type) return undefined;
      el.type = [type];
      return [choiceId, at];
    }
    return undefined;
  }

  /** Unrolls the children of the element at `at` from its contentReference target or its single datatype. */
  private unroll(at: number, id: string): boolean {
    const parent = this.out[at]!;
    const ref = parent.contentReference;
    let children: ElementDefinition[];
    if (ref) {
      const target = ref.slice(ref.indexOf('#') + 1);
      children = this.out
        .filter((e) => (e.id ?? e.path).startsWith(`${target}.`))
        .map((e) => rebase(e, target, id, target, parent.path ?? id));
    } else {
      const typeSd = this.typeDefinition(parent);
      const typeEls = typeSd?.snapshot?.element;
      if (!typeEls?.length) return false;
      const root = typeEls[0]!.id ?? typeEls[0]!.path;
      children = typeEls.slice(1).map((e) => rebase(e, root, id, root, parent.path ?? id));
    }
    if (!children.length) return false;
    this.out.splice(at + 1, 0, ...children);
    return true;
  }

  /** The definition an element's children come from: its single type's one profile, else the datatype. */
  private typeDefinition(el: ElementDefinition): StructureDefinition | undefined {
    const type = el.type?.length === 1 ? el.type[0]! : undefined;
    if (!type?.code) return undefined;
    const profile = type.profile?.length === 1 ? this.resolve(type.profile[0]!) : undefined;
    const sd =
      profile?.type === type.code && profile.snapshot ? profile : this.resolve(CORE_PREFIX + type.code);
    return sd?.kind === 'complex-type' ? sd : undefined;
  }

  /**
   * The slice `sliceName` of the element at `at`: when new, a copy of the sliced element (or, for a
   * reslice `a/b`, of the slice `a`) and its subtree (min 0, no slicing of its own), inserted after
   * the group of what it copies.
   */
  private slice(at: number, slicedId: string, sliceName: string): number {
    if (at < 0) return -1;
    const id = `${slicedId}:${sliceName}`;
    const found = this.find(id);
    if (found >= 0) return found;
    // A reslice (`mrn/old`) is a copy of the slice it refines.
    const slash = sliceName.lastIndexOf('/');
    const sourceId = slash < 0 ? slicedId : `${slicedId}:${sliceName.slice(0, slash)}`;
    const sourceAt = slash < 0 ? at : this.slice(at, slicedId, sliceName.slice(0, slash));
    if (sourceAt < 0) return -1;
    const sliced = this.out[sourceAt]!;
    let end = sourceAt + 1;
    while (end < this.out.length) {
      const other = this.out[end]!.id ?? this.out[end]!.path;
      if (![`${sourceId}.`, `${sourceId}:`, `${sourceId}/`].some((p) => other.startsWith(p))) break;
      end++;
    }
    const head = structuredClone(sliced);
    head.id = id;
    head.sliceName = sliceName;
    head.slicing = undefined;
    head.min = 0;
    if (slash < 0 && sliced.path?.endsWith('[x]')) {
      const jsonName = sliced.path.slice(sliced.path.lastIndexOf('.') + 1, -3);
      const type = sliceName.startsWith(jsonName) && typeOfSuffix(sliced, sliceName.slice(jsonName.length));
      if (type) head.type = [type];
      sliced.slicing ??= { discriminator: [{ type: 'type', path: '$this' }], rules: 'open' };
    } else if (slash < 0 && sliced.type?.length === 1 && sliced.type[0]!.code === 'Extension') {
      sliced.slicing ??= { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' };
    }
    const subtree = this.out
      .slice(sourceAt + 1, end)
      .filter((e) => (e.id ?? e.path).startsWith(`${sourceId}.`))
      .map((e) => rebase(e, sourceId, id));
    this.out.splice(end, 0, head, ...subtree);
    return end;
  }
}

/** A copy of `e` with its id prefix `fromId` replaced by `toId` (and its path prefix, when given). */
function rebase(
  e: ElementDefinition,
  fromId: string,
  toId: string,
  fromPath?: string,
  toPath?: string,
): ElementDefinition {
  const c = structuredClone(e);
  c.id = toId + (e.id ?? e.path).slice(fromId.length);
  if (fromPath !== undefined && toPath !== undefined) c.path = toPath + e.path.slice(fromPath.length);
  return c;
}

/** The type of a choice element named by a JSON suffix (`Quantity`, `String` → string). */
function typeOfSuffix(
  el: ElementDefinition,
  suffix: string,
): NonNullable<ElementDefinition['type']>[number] | undefined {
  return el.type?.find((t) => t.code && t.code.charAt(0).toUpperCase() + t.code.slice(1) === suffix);
}

/** `Extension.extension:name.url` → `Extension.extension.url`. */
function withoutSlices(id: string): string {
  return id.replace(/:[^.]+/g, '');
}

function merge(target: ElementDefinition, d: ElementDefinition): void {
  const t = target as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(d)) {
    if (k === 'id' || k === 'path' || k === 'mapping') continue;
    if (k === 'constraint') {
      const keys = new Set((target.constraint ?? []).map((c) => c.key));
      target.constraint = [
        ...(target.constraint ?? []),
        ...(d.constraint ?? []).filter((c) => !keys.has(c.key)),
      ];
    } else {
      if (k.startsWith('fixed') || k.startsWith('pattern')) {
        for (const old of Object.keys(t))
          if (old.startsWith(k.startsWith('fixed') ? 'fixed' : 'pattern')) t[old] = undefined;
      }
      t[k] = v;
    }
  }
}
