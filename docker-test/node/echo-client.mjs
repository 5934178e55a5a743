// Sends a file to an echo server, half-closes, and prints the SHA-256 and length of what came back.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

const [host, port, file] = process.argv.slice(2);
const hash = crypto.createHash('sha256');
let length = 0;
const s = net.connect(Number(port), host, () => fs.createReadStream(file).pipe(s));
s.on('data', (d) => {
  hash.update(d);
  length += d.length;
});
s.on('end', () => console.log(`${hash.digest('hex')} ${length}`));
s.on('error', (e) => {
  console.error(`echo client: ${e.message}`);
  process.exit(1);
});
