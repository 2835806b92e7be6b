/// <reference lib="dom" />
// check's HTML report as a person opens it: in Debian's chromium (driven by puppeteer-core),
// offline. The page must load from a file with no request at all and no console error, draw one
// chart per channel with the reference and the incoming series in it, and look like something: a
// screenshot with the charts' colours in it.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir, tsnorm } from '../helpers/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const tmp = tempDir();
const at = (name: string): string => path.join(tmp.dir, name);
const DRIFT = path.join(FIXTURES, 'drift');

let browser: Browser;
beforeAll(async () => {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    userDataDir: at('profile'),
    // As root in a sandbox with no network: no sandbox, no GPU, nothing fetched in the background.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  tmp.cleanup();
});

/** The report of a check with two channels over two files (some drifting), and one input missing. */
function report(): string {
  const reference = at('reference.npy');
  const incoming = at('incoming.npy');
  // Two channels from the drift fixtures: c0 like the reference, c1 shifted.
  const npyData = (file: string) => {
    const bytes = fs.readFileSync(path.join(DRIFT, file));
    const header = 10 + bytes.readUInt16LE(8);
    return new Float64Array(bytes.buffer.slice(bytes.byteOffset + header, bytes.byteOffset + bytes.length));
  };
  const twoChannels = (a: Float64Array, b: Float64Array, n: number, l: number): Buffer => {
    const out = new Float64Array(n * 2 * l);
    for (let i = 0; i < n; i++) {
      out.set(a.subarray(i * l, (i + 1) * l), 2 * i * l);
      out.set(b.subarray(i * l, (i + 1) * l), (2 * i + 1) * l);
    }
    const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${n}, 2, ${l}), }`;
    const pad = ' '.repeat(64 - ((10 + dict.length + 1) % 64)) + '\n';
    const head = Buffer.alloc(10);
    head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    head.writeUInt16LE(dict.length + pad.length, 8);
    return Buffer.concat([head, Buffer.from(dict + pad, 'latin1'), Buffer.from(out.buffer)]);
  };
  const ref = npyData('reference.npy');
  fs.writeFileSync(
    reference,
    twoChannels(
      ref,
      ref.map((x) => -x),
      40,
      250,
    ),
  );
  fs.writeFileSync(incoming, twoChannels(npyData('same.npy'), npyData('shift.npy'), 10, 200));
  const wider = at('wider.npy');
  fs.writeFileSync(wider, twoChannels(npyData('wider.npy'), npyData('same.npy'), 10, 200));
  const stats = at('stats.json');
  expect(tsnorm(['fit', reference, '--save-stats', stats]).status).toBe(0);
  const page = at('check.html');
  const r = tsnorm(['check', incoming, wider, at('missing.npy'), '--stats', stats, '--report', `html=${page}`, '-q']);
  expect(r.status).toBe(2);
  return page;
}

describe('the HTML report in chromium', () => {
  it('loads offline with no request and no console error, one chart per channel with both series, not blank', async () => {
    const file = report();
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    await page.setRequestInterception(true);
    const requests: string[] = [];
    page.on('request', (req) => {
      requests.push(req.url());
      if (req.url() === `file://${file}`) void req.continue();
      else void req.abort();
    });
    await page.setViewport({ width: 1200, height: 900 });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    expect(requests).toEqual([`file://${file}`]);
    expect(problems).toEqual([]);

    // A chart per channel of each file that was read (2 files x 2 channels), each with its series.
    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((f) => ({
        channel: f.querySelector('figcaption')?.textContent,
        plots: f.querySelectorAll('.uplot canvas').length,
        series: Array.from(f.querySelectorAll('.u-legend .u-series th'), (th) => th.textContent?.trim()),
      })),
    );
    expect(charts).toEqual([0, 1, 2, 3].map((i) => ({ channel: `c${i % 2}`, plots: 1, series: ['value', 'reference', 'incoming'] })));

    // Each canvas holds both series' colours (blue reference, red incoming), once drawn (uPlot draws in the next frame).
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    const colours = await page.$$eval('.uplot canvas', (canvases) =>
      canvases.map((c) => {
        const { data } = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
        let blue = 0;
        let red = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
          // The lines and the fills; where the fills overlap they blend into purple, neither.
          if (a > 30 && b > r + 80 && b > g) blue++;
          if (a > 30 && r > b + 80 && r > g + 80) red++;
        }
        return { blue, red };
      }),
    );
    expect(colours).toHaveLength(4);
    for (const c of colours) {
      expect(c.blue).toBeGreaterThan(50);
      expect(c.red).toBeGreaterThan(50);
    }

    // The problems are in the page: the drifting channel of the incoming file, the missing input.
    // biome-ignore lint/performance/useDomNodeTextContent: the page's text as it is rendered (hidden text left out)
    const text = await page.$eval('body', (b) => b.innerText);
    expect(text).toContain('drift-wasserstein');
    expect(text).toContain(`Unreadable: ${at('missing.npy')}: no such file`);

    // A screenshot a person would see: many colours, not one.
    const shot = at('check.png');
    await page.screenshot({ path: shot, fullPage: true });
    const distinct = await page.evaluate(async (png: string) => {
      const img = new Image();
      img.src = `data:image/png;base64,${png}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const { data } = ctx.getImageData(0, 0, img.width, img.height);
      const seen = new Set<number>();
      for (let i = 0; i < data.length; i += 4 * 7) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
      return { size: [img.width, img.height], colours: seen.size };
    }, fs.readFileSync(shot).toString('base64'));
    expect(distinct.size[0]).toBe(1200);
    expect(distinct.colours).toBeGreaterThan(50);
    await page.close();
  });

  it('names with markup and control characters are text, not markup', async () => {
    const hostile = at('<img src=x onerror=alert(1)>\x1b.csv');
    fs.writeFileSync(hostile, 'id,"<b>a</b>"\nu,1\nu,2\nu,3\n');
    const stats = at('hostile.json');
    fs.writeFileSync(stats, JSON.stringify({ running_mean: [2], running_var: [1] }));
    const file = at('hostile.html');
    tsnorm(['check', hostile, '--id', 'id', '--stats', stats, '--report', `html=${file}`, '-q']);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    expect(errors).toEqual([]);
    expect(await page.$$eval('img, b', (els) => els.length)).toBe(0);
    expect(await page.$eval('h2', (h) => h.textContent)).toBe(`${tmp.dir}/<img src=x onerror=alert(1)>\\x1b.csv`);
    await page.close();
  });
});
