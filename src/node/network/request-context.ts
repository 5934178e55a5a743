/** What a network remembers with the requests it sends, so that their replies find their way back. */
import type { MulticastGroup } from './multicast.js';

export type NetworkRequestContext =
  | { kind: 'config'; nwid: bigint }
  | { kind: 'gather'; nwid: bigint; group: MulticastGroup }
  | { kind: 'multicast-frame'; nwid: bigint; group: MulticastGroup };
