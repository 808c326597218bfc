// A headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ended by NUL on fds 3 and 4),
// for the book's test: open a page, collect console errors and every
// request, measure the layout, take a screenshot. No npm package needed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = '/usr/bin/chromium';

type Message = {
  id?: number; method?: string; sessionId?: string;
  params?: any; result?: any; error?: { message: string };
};

export interface Viewport {
  width: number;
  height: number;
  mobile?: boolean;
}

export interface Visit {
  /** Console errors, uncaught exceptions and failed loads. */
  errors: string[];
  /** Every URL the page requested. */
  requests: string[];
  /** document.documentElement.scrollWidth vs. the viewport's width. */
  scrollWidth: number;
  innerWidth: number;
  title: string;
  /** Font size of the first paragraph of the text, in CSS pixels. */
  textPx: number;
  png: Buffer;
}

export class Browser {
  private next = 1;
  private pending = new Map<number, (m: Message) => void>();
  private listeners: ((m: Message) => void)[] = [];
  private buffer = '';

  private constructor(private proc: ChildProcess, private profile: string) {
    const out = proc.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => this.receive(chunk));
  }

  static launch(): Browser {
    const profile = mkdtempSync(join(tmpdir(), 'skiff-chromium-'));
    const proc = spawn(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--no-default-browser-check',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-dev-shm-usage', '--hide-scrollbars',
      '--mute-audio', `--user-data-dir=${profile}`,
      '--remote-debugging-pipe', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    return new Browser(proc, profile);
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let end;
    while ((end = this.buffer.indexOf('\0')) >= 0) {
      const msg = JSON.parse(this.buffer.slice(0, end)) as Message;
      this.buffer = this.buffer.slice(end + 1);
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg);
      else for (const l of this.listeners) l(msg);
    }
  }

  send(method: string, params: object = {}, sessionId?: string)
    : Promise<any> {
    const id = this.next++;
    const pipe = this.proc.stdio[3] as Writable;
    pipe.write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(
        `chromium: ${method} timed out`)), 30_000);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (m.error) reject(new Error(`chromium: ${method}: ` +
          m.error.message));
        else resolve(m.result);
      });
    });
  }

  /** Opens `url` in a fresh tab of the given size and looks at it. */
  async visit(url: string, viewport: Viewport): Promise<Visit> {
    const { targetId } = await this.send('Target.createTarget',
      { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget',
      { targetId, flatten: true });
    const visit: Visit = { errors: [], requests: [], scrollWidth: 0,
      innerWidth: 0, title: '', textPx: 0, png: Buffer.alloc(0) };
    let loaded!: () => void;
    const load = new Promise<void>((resolve) => { loaded = resolve; });
    const listener = (m: Message) => {
      if (m.sessionId !== sessionId) return;
      const p = m.params;
      if (m.method === 'Page.loadEventFired') loaded();
      if (m.method === 'Network.requestWillBeSent') {
        visit.requests.push(p.request.url);
      }
      if (m.method === 'Runtime.exceptionThrown') {
        visit.errors.push(p.exceptionDetails.text);
      }
      if (m.method === 'Runtime.consoleAPICalled' &&
        ['error', 'assert'].includes(p.type)) {
        visit.errors.push(p.args.map((a: any) => a.value).join(' '));
      }
      if (m.method === 'Log.entryAdded' && p.entry.level === 'error') {
        visit.errors.push(`${p.entry.text} ${p.entry.url ?? ''}`);
      }
    };
    this.listeners.push(listener);
    for (const domain of ['Page', 'Runtime', 'Log', 'Network']) {
      await this.send(`${domain}.enable`, {}, sessionId);
    }
    await this.send('Emulation.setDeviceMetricsOverride', {
      width: viewport.width, height: viewport.height,
      deviceScaleFactor: 1, mobile: viewport.mobile ?? false,
    }, sessionId);
    await this.send('Page.navigate', { url }, sessionId);
    await load;
    const { result } = await this.send('Runtime.evaluate', {
      expression: 'JSON.stringify([document.documentElement.scrollWidth, ' +
        'innerWidth, document.title, parseFloat(getComputedStyle(' +
        'document.querySelector("main p") ?? document.body).fontSize)])',
      returnByValue: true,
    }, sessionId);
    [visit.scrollWidth, visit.innerWidth, visit.title, visit.textPx] =
      JSON.parse(result.value);
    const shot = await this.send('Page.captureScreenshot',
      { format: 'png' }, sessionId);
    visit.png = Buffer.from(shot.data, 'base64');
    this.listeners = this.listeners.filter((l) => l !== listener);
    await this.send('Target.closeTarget', { targetId });
    return visit;
  }

  async close(): Promise<void> {
    await this.send('Browser.close').catch(() => {});
    if (this.proc.exitCode === null) {
      await new Promise((resolve) => {
        const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
        this.proc.once('exit', () => resolve(clearTimeout(timer)));
      });
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}
