/**
 * The daemon's side of the fd keeper when the keeper goes away: the daemon carries on, and the
 * next listener starts a new keeper that is handed every current listener again. The keeper here
 * is a stand-in program that records what it was sent, then exits.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { closeFd, socketpair } from '../../src/native/binding.js';
import type { KeptListenerMeta } from '../../src/netcon/kept-listeners.js';
import { FdKeeperClient } from '../../src/service/fd-keeper-client.js';
import { killAll, tempDir, waitFor } from './service-harness.js';

/** Reads its connection (fd 3) briefly, writes how many listeners it was handed, exits. */
const STAND_IN = `
const fs = require('node:fs');
const net = require('node:net');
const s = new net.Socket({ fd: 3, readable: true, writable: true });
let text = '';
s.on('data', (d) => (text += d.toString('latin1')));
setTimeout(() => {
  fs.appendFileSync(process.argv[2], 'handed ' + (text.match(/"t":"keep"/g) || []).length + '\\n');
  process.exit(0);
}, 300);
`;

function meta(ino: number): KeptListenerMeta {
  return {
    v: 2,
    family: 4,
    nwid: '8056c2e21c000001',
    socket: '/x.sock',
    ino,
    addr: '0.0.0.0',
    port: 8000 + ino,
    backlog: 8,
    options: {},
    recvErr: 0,
    deferAcceptRetrans: 0,
  };
}

describe('FdKeeperClient', () => {
  const tmp = tempDir('ztnc-keeperclient-');
  const fds: number[] = [];

  afterAll(async () => {
    for (const fd of fds) closeFd(fd);
    await killAll();
  });

  it('survives its keeper going away and hands every current listener to the next one', async () => {
    const script = join(tmp, 'stand-in.cjs');
    const record = join(tmp, 'record');
    writeFileSync(script, STAND_IN);
    const client = await FdKeeperClient.open(tmp, pino({ level: 'silent' }), [process.execPath, script, record]);
    const first = socketpair('stream');
    fds.push(...first);
    client.keep(meta(1), first[1]);
    await waitFor(() => existsSync(record) && readFileSync(record, 'utf8') === 'handed 1\n', 10_000, 'the first keeper');
    // the stand-in has exited: the next listener starts another, which gets both
    await new Promise((r) => setTimeout(r, 200));
    const second = socketpair('stream');
    fds.push(...second);
    client.keep(meta(2), second[1]);
    await waitFor(() => readFileSync(record, 'utf8') === 'handed 1\nhanded 2\n', 10_000, 'the second keeper');
    // a listener let go is not handed over again
    client.drop('/x.sock', 1);
    await new Promise((r) => setTimeout(r, 200));
    const third = socketpair('stream');
    fds.push(...third);
    client.keep(meta(3), third[1]);
    await waitFor(() => readFileSync(record, 'utf8').split('\n').length === 4, 10_000, 'the third keeper');
    expect(readFileSync(record, 'utf8')).toBe('handed 1\nhanded 2\nhanded 2\n');
    await client.close();
  });
});
