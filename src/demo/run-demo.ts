/** `npm run demo`: the offline quickstart (see demo.ts); exit status 0 only on success. */
import { runDemo } from './demo.js';

runDemo().then(
  () => {
    process.stdout.write('demo OK\n');
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`demo FAILED: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
