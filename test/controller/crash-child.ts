/** Child process for the kill -9 test: a controller behind the local API; prints its port. */
import { join } from 'node:path';
import pino from 'pino';
import { NetworkController } from '../../src/controller/index.js';
import { loadOrCreateAuthToken } from '../../src/service/http/auth-token.js';
import { Router } from '../../src/service/http/router.js';
import { ApiServer } from '../../src/service/http/server.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: crash-child.ts <state dir>');
const logger = pino({ level: 'silent' });
const token = loadOrCreateAuthToken(join(dir, 'authtoken.secret'));
const controller = new NetworkController({ dbFile: join(dir, 'controller.db'), nodeAddress: '3ce329f872', logger, backupIntervalMs: 0 });
const router = new Router();
controller.mount(router);
const server = new ApiServer({ router, authToken: token, logger });
const addr = await server.listen();
process.stdout.write(`${JSON.stringify({ port: addr.port, token })}\n`);
