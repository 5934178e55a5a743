/**
 * The name operations of the netcon RPC (proto.h: RESOLVE, REVERSE, DNS_QUERY, all on inode 0),
 * answered by the network's NameService (src/dns). Result codes as the library maps them:
 * -ENOENT no such name, -ENODATA no address of that family, -EAGAIN no answer now (also when this
 * server has no resolver). The resolver answers within 5 s, so a request never waits longer.
 */
import type { NameService } from '../dns/index.js';
import { fitAnswer, NAME_ENODATA, NAME_ENOENT } from '../dns/index.js';
import { Errno } from '../netstack/index.js';
import { decodeResolveRequest, decodeReverseRequest, encodeResolveReply, MAX_RESPONSE_PAYLOAD, Op, type Request } from './protocol.js';

export interface NameReply {
  result: number;
  payload?: Buffer;
}

export function isNameOp(op: number): boolean {
  return op === Op.RESOLVE || op === Op.REVERSE || op === Op.DNS_QUERY;
}

export async function nameCall(names: NameService | undefined, req: Request): Promise<NameReply> {
  if (names === undefined) return { result: -Errno.EAGAIN };
  switch (req.op) {
    case Op.RESOLVE: {
      const q = decodeResolveRequest(req.payload);
      if (q === null) return { result: -Errno.EINVAL };
      const r = await names.resolve(q.name, q.family);
      if ('errno' in r) return { result: -r.errno };
      const { payload, count } = encodeResolveReply(r.canonical, r.addrs);
      if (count === 0) return { result: -NAME_ENODATA };
      return { result: count, payload };
    }
    case Op.REVERSE: {
      const q = decodeReverseRequest(req.payload);
      if (q === null) return { result: -Errno.EINVAL };
      const r = await names.reverse(q.family, q.bytes);
      if ('errno' in r) return { result: -r.errno };
      const name = Buffer.from(r.name, 'latin1');
      if (name.length === 0 || name.length > Math.min(255, MAX_RESPONSE_PAYLOAD)) return { result: -NAME_ENOENT };
      return { result: name.length, payload: name };
    }
    case Op.DNS_QUERY: {
      if (req.payload.length === 0) return { result: -Errno.EINVAL };
      const answer = await names.answer(req.payload);
      const fitted = answer === null ? null : fitAnswer(answer, MAX_RESPONSE_PAYLOAD);
      if (fitted === null) return { result: -Errno.EINVAL };
      return { result: fitted.length, payload: fitted };
    }
    default:
      return { result: -Errno.EOPNOTSUPP };
  }
}
