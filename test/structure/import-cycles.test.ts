/**
 * No import cycles in src/: every relative import, re-export and `import type` (a type-only
 * back-reference is a cycle too; pass a narrow interface instead) is an edge of the module graph,
 * and the graph must have no strongly connected component of more than one file, nor a file that
 * imports itself.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The src/ files `file` imports (value, type-only, re-export or dynamic), as absolute paths. */
function importsOf(file: string, known: Set<string>): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out = new Set<string>();
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts');
    const candidates = [target, `${target}.ts`, join(target, 'index.ts')];
    const hit = candidates.find((c) => known.has(c));
    if (hit) out.add(hit);
  }
  return [...out];
}

/** Tarjan's strongly connected components with more than one member, or with a self-edge. */
function importCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

describe('module structure', () => {
  it('finds every cycle and nothing else', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
      ['e', ['e']],
    ]);
    expect(importCycles(g)).toEqual([['a', 'b', 'c'], ['e']]);
    expect(
      importCycles(
        new Map([
          ['x', ['y']],
          ['y', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads type-only imports, re-exports, dynamic imports and folder index files as edges', () => {
    const dir = tempDir('ztnc-cycles-');
    try {
      mkdirSync(join(dir, 'sub'));
      writeFileSync(join(dir, 'a.ts'), "import type { B } from './b.js';\nexport { C } from './c.js';\nimport 'node:fs';\n");
      writeFileSync(join(dir, 'b.ts'), "const m = await import('./sub/index.js');\n");
      writeFileSync(join(dir, 'c.ts'), 'export const C = 1;\n');
      writeFileSync(join(dir, 'sub', 'index.ts'), "import type { A } from '../a.js';\n");
      const files = sourceFiles(dir);
      const known = new Set(files);
      const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
      expect(graph.get(join(dir, 'a.ts'))).toEqual([join(dir, 'b.ts'), join(dir, 'c.ts')]);
      expect(importCycles(graph)).toEqual([[join(dir, 'a.ts'), join(dir, 'b.ts'), join(dir, 'sub', 'index.ts')]]);
    } finally {
      removeDir(dir);
    }
  });

  it('src/ has no import cycles, type-only imports included', () => {
    const files = sourceFiles(join(ROOT, 'src'));
    const known = new Set(files);
    const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
    const cycles = importCycles(graph).map((c) => c.map((f) => relative(join(ROOT, 'src'), f)).join(' <-> '));
    expect(cycles).toEqual([]);
  });
});
