# A python HTTP server on :: with IPV6_V6ONLY 0 (dual stack, as `python3 -m http.server --bind ::`
# makes it) serving a directory; GET /peer answers "<client address> <server address>" as the
# server's socket saw them (an IPv4 client: ::ffff:a.b.c.d).
# Usage: python3 server.py <port> <directory>
import functools
import http.server
import socket
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/peer":
            return super().do_GET()
        body = f"{self.client_address[0]} {self.connection.getsockname()[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class DualStackServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


port, www = int(sys.argv[1]), sys.argv[2]
server = DualStackServer(("::", port), functools.partial(Handler, directory=www))
print(f"python http on [::]:{port}", flush=True)
server.serve_forever()
