/**
 * `npm run bench -- <name> [--json]`: runs one benchmark. Each prints a table for people and,
 * with --json, one JSON object on its last line with its figures and a reference measured in the
 * same run.
 */
import { pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readdirSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith('-'));
const json = args.includes('--json');
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'index.js' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));

if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${available.join('|')}> [--json]\n`);
  process.exit(name ? 2 : 0);
}
const file = join(here, `${name}.js`);
if (!existsSync(file)) process.exit(2);
const mod = (await import(pathToFileURL(file).href)) as { run: (opts: { json: boolean }) => Promise<void> };
await mod.run({ json });
