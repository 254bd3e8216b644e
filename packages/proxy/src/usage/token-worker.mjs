// Worker thread of the token counter: answers {id, text} with {id, count} (count -1: count inline).
// Plain .mjs so it runs without the tsx loader (the parent starts it with execArgv: []).
import { parentPort } from 'node:worker_threads';
import { countCl100k } from './cl100k-count.mjs';

parentPort?.on('message', (msg) => {
  let count = -1;
  try {
    count = countCl100k(msg.text);
  } catch {}
  parentPort?.postMessage({ id: msg.id, count });
});
