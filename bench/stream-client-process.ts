// Child process for the stream benches: runs the streams the parent asks for (stream-load.ts) on its
// own event loop and sends back what it saw. Exits when the parent goes away.
import { runStreams, type StreamRun } from './stream-load.ts';

process.on('message', (m: { id: number; run: StreamRun }) => {
  runStreams(m.run).then(
    (result) => process.send?.({ id: m.id, result }),
    (err: Error) => process.send?.({ id: m.id, error: err.message }),
  );
});
process.once('disconnect', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
