/** What /metrics reads of the running daemon: the Daemon passes itself (a narrow view, no import of daemon.ts). */
import type { NetworkController } from '../../controller/index.js';
import type { NativeUdpTransport, Networks, Node, UnderlayDemux } from '../../node/index.js';
import type { NetworkAttachment } from '../network-attachment.js';

export interface MetricsSource {
  readonly node: Node;
  readonly nets: Networks;
  readonly controller: NetworkController | null;
  readonly transport: Pick<NativeUdpTransport, 'stats' | 'socketStats'>;
  /** The underlay's demux between the daemon's endpoints. */
  readonly demux: Pick<UnderlayDemux, 'stats' | 'size'>;
  /** Problems caught in request or timer handling, by kind. */
  readonly faults: ReadonlyMap<string, number>;
  readonly home: { readonly dir: string };
  /** The apps' side of a joined network (RPC sockets, stack), by 16-digit id. */
  attachment(nwid: string): NetworkAttachment | undefined;
}
