// The child side of the bench's IPC channel: answers the parent's stats (and custom) requests, and
// ends the child when the parent goes away, so no bench process outlives the run.

/** What a bench child reports about itself; read only between phases. */
export interface ChildStats {
  /** User + system CPU time since start, µs. */
  cpuUs: number;
  rssBytes: number;
  /** Peak resident set size since start, kB. */
  maxRssKb: number;
}

interface ControlMessage {
  type: string;
  id: number;
}

/** Serves `stats` plus the given commands over IPC; `stop` runs on SIGTERM, SIGINT or parent exit. */
export function serveControl(commands: Record<string, () => void>, stop: () => void): void {
  process.on('message', (msg: ControlMessage) => {
    if (msg.type === 'stats') {
      const cpu = process.cpuUsage();
      const stats: ChildStats = {
        cpuUs: cpu.user + cpu.system,
        rssBytes: process.memoryUsage.rss(),
        maxRssKb: process.resourceUsage().maxRSS,
      };
      process.send?.({ id: msg.id, ok: true, stats });
      return;
    }
    const run = commands[msg.type];
    if (run !== undefined) run();
    process.send?.({ id: msg.id, ok: run !== undefined });
  });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
}
