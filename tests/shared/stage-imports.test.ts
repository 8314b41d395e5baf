// The pipeline's contract (DEVELOPERS.md "Layout"): a stage imports only earlier stages, and only
// through their public entry; and no module imports itself back through a chain of runtime imports.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STAGES = ['shared', 'domain', 'mapping', 'validation', 'store', 'sync', 'server', 'cli', 'testing'];
/** Entries other stages may import besides `src/<stage>/index.ts`. */
const SECOND_ENTRIES = new Set(['src/domain/rules/index.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

interface Import {
  target: string;
  /** Loaded when the importing module loads (not `import type`, not a dynamic `import()`). */
  eager: boolean;
}

type ImportGraph = Map<string, Import[]>;

/** The relative imports of a file (static, dynamic and re-exports), as project-relative paths. */
function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: Import[] = [];
  for (const m of text.matchAll(/^(import|export)(\s+type)?[^;]*?from\s+'(\.[^']+)'/gm))
    found.push({ target: normalize(join(dirname(file), m[3])), eager: !m[2] });
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g))
    found.push({ target: normalize(join(dirname(file), m[1])), eager: false });
  return found;
}

const stageOf = (file: string) => file.split('/')[1];

/** Files importing a later stage, or another stage's internals. */
function stageViolations(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [file, imports] of graph) {
    const from = stageOf(file);
    if (!STAGES.includes(from)) continue; // src/index.ts, the SDK entry, gathers the stages
    for (const { target } of imports) {
      const to = stageOf(target);
      if (to === from || !target.startsWith('src/')) continue;
      if (STAGES.indexOf(to) > STAGES.indexOf(from) && from !== 'testing')
        out.push(`${file} imports a later stage: ${target}`);
      else if (to !== 'shared' && target !== `src/${to}/index.ts` && !SECOND_ENTRIES.has(target))
        out.push(`${file} imports another stage's internals: ${target}`);
    }
  }
  return out;
}

/** One cycle of eager imports, as the chain of files; undefined when there is none. */
function findCycle(graph: ImportGraph): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = next.eager ? visit(next.target) : undefined;
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('stage imports', () => {
  const files = sources(join(ROOT, 'src')).map((f) => relative(ROOT, f));
  const graph: ImportGraph = new Map(files.map((f) => [f, importsOf(f)]));

  it('every stage imports only earlier stages, through their public entry', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(stageViolations(graph)).toEqual([]);
  });

  it('no eager import cycle', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it('the checks find a later stage, an internal import and a cycle', () => {
    const bad: ImportGraph = new Map([
      ['src/store/a.ts', [{ target: 'src/server/index.ts', eager: false }]],
      ['src/server/b.ts', [{ target: 'src/store/reads.ts', eager: true }]],
      ['src/sync/c.ts', [{ target: 'src/sync/d.ts', eager: true }]],
      ['src/sync/d.ts', [{ target: 'src/sync/c.ts', eager: true }]],
    ]);
    expect(stageViolations(bad)).toEqual([
      'src/store/a.ts imports a later stage: src/server/index.ts',
      "src/server/b.ts imports another stage's internals: src/store/reads.ts",
    ]);
    expect(findCycle(bad)).toEqual(['src/sync/c.ts', 'src/sync/d.ts', 'src/sync/c.ts']);
  });
});
