/**
 * ECHO (verb 8): arbitrary payload, answered by OK(ECHO) with a copy. Stock 1.14 also acks a
 * NETWORK_CONFIG push with an OK whose in-re verb is ECHO and whose body is the network id and
 * the config update id.
 */
import { Writer, fail, ok, type Parsed } from './bytes.js';

/** Largest echo payload we answer (stock answers any; a bound keeps replies small). */
export const MAX_ECHO_PAYLOAD = 1024;

export function parseEcho(payload: Buffer): Parsed<Buffer> {
  return payload.length <= MAX_ECHO_PAYLOAD ? ok(payload) : fail(`ECHO: payload of ${payload.length} bytes`);
}

export function emitEcho(payload: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.from(payload);
}

export interface ConfigPushAck {
  networkId: bigint;
  configUpdateId: bigint;
}

export function parseConfigPushAck(body: Buffer): Parsed<ConfigPushAck> {
  if (body.length < 16) return fail('OK(ECHO) config ack: truncated');
  return ok({ networkId: body.readBigUInt64BE(0), configUpdateId: body.readBigUInt64BE(8) });
}

export function emitConfigPushAck(a: ConfigPushAck): Buffer {
  return Buffer.from(new Writer(16).u64(a.networkId).u64(a.configUpdateId).finish());
}
