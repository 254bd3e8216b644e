// The hub over real sockets: a client that stops reading is dropped once its unsent data passes the
// limit, while a reading client gets every event, in order.
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import { createHub } from './sse-hub.ts';

describe('SSE hub', () => {
  const dropped: number[] = [];
  const hub = createHub({ onDrop: () => dropped.push(1) }); // 1 MiB limit
  const server = createServer((req, res) => hub.attach(req, res, { scrape_interval: 5 }));
  after(() => {
    hub.close();
    server.close();
  });

  test('a slow client is dropped without delaying a reading one', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    // The slow client: sends its request, then never reads.
    const slow = connect(port, '127.0.0.1');
    slow.write('GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n');
    slow.pause();
    // The fast client counts the events it receives.
    let received = 0;
    let text = '';
    await new Promise<void>((ok) => {
      request({ port, host: '127.0.0.1', path: '/api/events', agent: false }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          received = text.split('event: metrics\n').length - 1;
        });
        ok();
      }).end();
    });
    while (hub.clientCount() < 2) await new Promise((r) => setImmediate(r));
    const payload = 'x'.repeat(64 * 1024);
    let sent = 0;
    while (dropped.length === 0 && sent < 2000) {
      hub.publish(sent, [{ event: 'metrics', key: 'a', data: { n: sent, payload } }]);
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(dropped.length, 1, 'the slow client was dropped');
    assert.equal(hub.clientCount(), 1);
    for (let i = 0; i < 5; i++) {
      hub.publish(sent++, [{ event: 'metrics', key: 'a', data: { n: sent - 1, payload } }]);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(hub.clientCount(), 1);
    while (received < sent) await new Promise((r) => setTimeout(r, 5));
    assert.equal(received, sent, 'the reading client got every event');
    const ns = [...text.matchAll(/"n":(\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(
      ns,
      Array.from({ length: sent }, (_, i) => i),
    );
    slow.destroy();
  });
});
