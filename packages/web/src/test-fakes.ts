// Test doubles for the browser APIs jsdom lacks: uPlot (canvas) and EventSource.
import type uPlot from 'uplot';
import { vi } from 'vitest';

/** Records every chart built, resized, fed and destroyed. */
export class FakePlot {
  static instances: FakePlot[] = [];
  setData = vi.fn((d: uPlot.AlignedData) => {
    this.data = d;
  });
  setSize = vi.fn();
  destroy = vi.fn(() => {
    this.destroyed = true;
  });
  destroyed = false;
  width: number;
  height: number;
  constructor(
    readonly opts: uPlot.Options,
    public data: uPlot.AlignedData,
    readonly el: HTMLElement,
  ) {
    this.width = opts.width;
    this.height = opts.height;
    FakePlot.instances.push(this);
  }
}

export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  static latest(): FakeEventSource {
    const es = FakeEventSource.instances.at(-1);
    if (es === undefined) throw new Error('no EventSource was opened');
    return es;
  }
  onopen: ((e: Event) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  closed = false;
  private listeners = new Map<string, ((e: MessageEvent) => void)[]>();
  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, fn: (e: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  removeEventListener() {}
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.(new Event('open'));
  }
  fail() {
    this.onerror?.(new Event('error'));
  }
  emit(type: string, data: unknown) {
    const e = new MessageEvent(type, { data: JSON.stringify(data) });
    for (const fn of this.listeners.get(type) ?? []) fn(e);
  }
}

export function resetFakes() {
  FakePlot.instances = [];
  FakeEventSource.instances = [];
}
