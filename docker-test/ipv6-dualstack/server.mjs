// A node http server and a net echo server on :: (node's default: dual stack, IPV6_V6ONLY 0). The
// http server sends files of a directory; GET /peer answers "<client address> <server address>"
// as its socket saw them (an IPv4 client: ::ffff:a.b.c.d).
// Usage: node server.mjs <http port> <echo port> <directory>
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const [port, echoPort, www] = process.argv.slice(2);
http
  .createServer((req, res) => {
    const name = path.basename(new URL(req.url, 'http://x').pathname);
    if (name === 'peer') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.socket.remoteAddress} ${req.socket.localAddress}\n`);
      return;
    }
    const file = path.join(www, name);
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
      fs.createReadStream(file).pipe(res);
    });
  })
  .listen({ port: Number(port), host: '::' }, () => console.log(`node http on [::]:${port}`));
net
  .createServer((s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  })
  .listen({ port: Number(echoPort), host: '::' }, () => console.log(`node echo on [::]:${echoPort}`));
