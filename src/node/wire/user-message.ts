/** USER_MESSAGE (verb 20): message type id (8), then an application payload. */
import { Writer, fail, ok, type Parsed } from './bytes.js';

export interface UserMessage {
  typeId: bigint;
  data: Buffer;
}

export function parseUserMessage(payload: Buffer): Parsed<UserMessage> {
  if (payload.length < 8) return fail('USER_MESSAGE: truncated');
  return ok({ typeId: payload.readBigUInt64BE(0), data: payload.subarray(8) });
}

export function emitUserMessage(m: UserMessage): Buffer {
  return Buffer.from(new Writer(8 + m.data.length).u64(m.typeId).bytes(m.data).finish());
}
