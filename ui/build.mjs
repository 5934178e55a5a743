// Builds the web UI into dist/ui/: src/main.tsx bundled (preact included) to app.js, src/app.css
// to app.css, and index.html naming both with their content hash (`app.js?v=<hash>`) so browsers
// may keep them until the next build. No CDN and no web fonts: the page loads only these files.
// `node ui/build.mjs [outdir]`; also exported for the browser test.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const UI = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT_DIR = join(UI, '..', 'dist', 'ui');

function hash(data) {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** Writes a file through a temporary name, so a daemon serving the directory never reads half of one. */
function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

export async function buildUi(outDir = DEFAULT_OUT_DIR) {
  const result = await build({
    entryPoints: [
      { in: join(UI, 'src', 'main.tsx'), out: 'app' },
      { in: join(UI, 'src', 'app.css'), out: 'app' },
    ],
    bundle: true,
    write: false,
    outdir: outDir,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('app.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('app.js.map'));
  const css = result.outputFiles.find((f) => f.path.endsWith('app.css'));
  if (!js || !css) throw new Error('ui build: esbuild gave no app.js or app.css');
  mkdirSync(outDir, { recursive: true });
  const cssMap = result.outputFiles.find((f) => f.path.endsWith('app.css.map'));
  if (map) writeAtomic(join(outDir, 'app.js.map'), map.contents);
  if (cssMap) writeAtomic(join(outDir, 'app.css.map'), cssMap.contents);
  writeAtomic(join(outDir, 'app.js'), js.contents);
  writeAtomic(join(outDir, 'app.css'), css.contents);
  const html = readFileSync(join(UI, 'index.html'), 'utf8')
    .replace('{{app.js}}', `/app/app.js?v=${hash(js.contents)}`)
    .replace('{{app.css}}', `/app/app.css?v=${hash(css.contents)}`);
  writeAtomic(join(outDir, 'index.html'), html);
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildUi(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_OUT_DIR);
}
