/**
 * A TCP proxy on a loopback port in front of a storage engine, for outages of an engine that the tests cannot
 * stop and start again on the same data (Ceph RGW as `test/helpers/ceph.ts` runs it removes its data on stop):
 * `cut()` closes the port and every connection through it, as an engine that went away does; `restore()` listens
 * on the same port again, and the engine is back with everything it held.
 */
import * as net from 'node:net';

export interface ITcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<ITcpProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const engine = net.connect(targetPort, targetHost);
    for (const socket of [client, engine]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      // Either end failing ends the pair, as a broken connection to the engine would.
      socket.on('error', () => {
        client.destroy();
        engine.destroy();
      });
    }
    client.pipe(engine).pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const cut = async () => {
    if (!server.listening) return;
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return { port, cut, restore: () => listen(port), close: cut };
}
