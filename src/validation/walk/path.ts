/**
 * Where the walk is: the FHIRPath of the current node, kept as a stack of (segment, index) pairs and
 * joined into a string only when an issue is reported, plus the stack of host elements (the element
 * holding the current object) that extension contexts are judged against.
 */
export class PathStack {
  private readonly segs: string[] = [];
  private readonly idxs: number[] = [];
  depth = 0;
  /** Logical type of each host (`Patient`, `HumanName` ...). */
  readonly hostTypes: string[] = [];
  /** Element definition path of each host (a contentReference's target path, e.g. `OperationDefinition.parameter` for `parameter.part`). */
  readonly hostPaths: string[] = [];
  /** The JSON node of each host (for extension contextInvariants). */
  readonly hostNodes: unknown[] = [];
  /** A primitive host's `_name` object (its id and extensions), the node that FHIRPath results name. */
  readonly hostCompanions: unknown[] = [];

  push(seg: string, idx = -1): void {
    this.segs[this.depth] = seg;
    this.idxs[this.depth] = idx;
    this.depth++;
  }

  pop(): void {
    this.depth--;
  }

  /** The FHIRPath with indexes and type casts, e.g. `Observation.value.ofType(Quantity)`; `extra` appended. */
  path(extra?: string): string {
    let s = '';
    for (let i = 0; i < this.depth; i++) {
      if (i) s += '.';
      s += this.segs[i];
      if (this.idxs[i] >= 0) s += `[${this.idxs[i]}]`;
    }
    return extra ? (s ? `${s}.${extra}` : extra) : s;
  }

  /** Element path without indexes and type casts, e.g. `Patient.name.given`. */
  logicalPath(): string {
    let s = '';
    for (let i = 0; i < this.depth; i++) {
      const seg = this.segs[i];
      const cast = seg.indexOf('.ofType(');
      if (i) s += '.';
      s += cast >= 0 ? seg.slice(0, cast) : seg;
    }
    return s;
  }

  pushHost(type: string, definitionPath: string, node: unknown, companion?: unknown): void {
    this.hostTypes.push(type);
    this.hostPaths.push(definitionPath);
    this.hostNodes.push(node);
    this.hostCompanions.push(companion);
  }

  popHost(): void {
    this.hostTypes.pop();
    this.hostPaths.pop();
    this.hostNodes.pop();
    this.hostCompanions.pop();
  }
}
