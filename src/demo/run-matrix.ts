/**
 * The compatibility matrix as plain processes (no Docker):
 *   node dist/src/demo/run-matrix.js [--results DIR] [--kernel | --endpoints] [substring…]
 * runs every docker-test row whose name contains a substring (all by default) and writes
 * OK.<test> / FAIL.<test> to DIR (default docker-test/_results). --kernel runs the same scripts
 * with no daemon and no library over the kernel's loopback, the reference. --endpoints makes
 * every container an endpoint of one shared daemon (the rows that cannot be are left out, saying why).
 */
import { MATRIX_TESTS, NOT_AS_ENDPOINTS, runMatrix } from './matrix.js';

const args = process.argv.slice(2);
const r = args.indexOf('--results');
const resultsDir = r >= 0 ? args.splice(r, 2)[1] : undefined;
const k = args.indexOf('--kernel');
const kernelReference = k >= 0 && args.splice(k, 1).length === 1;
const e = args.indexOf('--endpoints');
const endpoints = e >= 0 && args.splice(e, 1).length === 1;
let tests: string[] = MATRIX_TESTS.filter((t) => args.length === 0 || args.some((a) => t.includes(a)));
if (endpoints) {
  for (const t of tests.filter((x) => x in NOT_AS_ENDPOINTS)) process.stdout.write(`SKIP ${t}: ${NOT_AS_ENDPOINTS[t]}\n`);
  tests = tests.filter((t) => !(t in NOT_AS_ENDPOINTS));
}
if (tests.length === 0) {
  process.stderr.write(`no test matches ${args.join(' ')} (tests: ${MATRIX_TESTS.join(', ')})\n`);
  process.exit(2);
}
runMatrix(tests, { resultsDir, kernelReference, endpoints, log: (l) => process.stdout.write(`${l}\n`) }).then(
  (results) => {
    for (const x of results) process.stdout.write(`${x.ok ? 'OK  ' : 'FAIL'} ${x.test}${x.ok ? '' : `\n${x.text}`}\n`);
    process.exit(results.every((x) => x.ok) ? 0 : 1);
  },
  (e: unknown) => {
    process.stderr.write(`matrix: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
