// Type-sliced choice elements (`value[x]` sliced by type, slices `value[x]:valueQuantity`): the
// choice is narrowed to what its slices allow, as the HL7 snapshots have it (core `bodyweight`:
// `value[x]` closed to Quantity). Applied to every compiled structure, published or generated snapshot.
// - closed slicing whose slices each name their types: the choice keeps only the slices' types;
// - a slice with min >= 1 and one type: a choice holds one value, so only that type can satisfy it.
// Open slicing without a required slice keeps every type (narrowing there would refuse what HL7
// tooling does not always refuse).

/**
 * What the narrowing reads and writes of a compiled element, typed by shape so that compiled.ts,
 * which calls it, is not imported back.
 */
interface SlicedChoice<T extends { code: string }> {
  choice: boolean;
  sliceName?: string;
  slices: ReadonlyArray<{ min: number; types: readonly T[] }>;
  slicing?: { rules?: string };
  types: T[];
}

export function narrowTypeSlicedChoice<T extends { code: string }>(el: SlicedChoice<T>): void {
  if (!el.choice || el.sliceName !== undefined || !el.slices.length) return;
  let keep: Set<string> | undefined;
  const required = el.slices.find((s) => s.min > 0 && s.types.length === 1);
  if (required) keep = new Set([required.types[0]!.code]);
  else if (el.slicing?.rules === 'closed' && el.slices.every((s) => s.types.length > 0))
    keep = new Set(el.slices.flatMap((s) => s.types.map((t) => t.code)));
  if (!keep) return;
  const types = el.types.filter((t) => keep.has(t.code));
  if (types.length && types.length < el.types.length) el.types = types;
}
