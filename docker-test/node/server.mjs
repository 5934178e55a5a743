// An http server sending a file and a net echo server, both on the container's address.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const [host, port, echoPort, www] = process.argv.slice(2);
http
  .createServer((req, res) => {
    const file = path.join(www, path.basename(new URL(req.url, 'http://x').pathname));
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
      fs.createReadStream(file).pipe(res);
    });
  })
  .listen(Number(port), host, () => console.log(`http on ${host}:${port}`));
net
  .createServer((s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  })
  .listen(Number(echoPort), host, () => console.log(`echo on ${host}:${echoPort}`));
