/**
 * `tsnorm check --format html`: one self-contained page for a person, to open from a CI job's
 * artifacts: the summary, per input its problems and its channels' scores, and per channel a chart
 * of its values against the reference's (the sketches' histograms). The chart library (uPlot: 50
 * KB, canvas, no dependency) and the data are inlined, and the page's content security policy
 * allows no request at all: it works offline and from a file.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import { printable } from '../errors.js';
import { locationText } from '../formats/types.js';
import { embeddedText } from '../io/embedded.js';
import { type CheckReport, plural, scoreText } from './check.js';

/** The chart library's script and style: from the single executable's assets, else from node_modules. */
function chartLibrary(): { script: string; css: string } {
  const script = embeddedText('uPlot.iife.min.js');
  const css = embeddedText('uPlot.min.css');
  if (script !== undefined && css !== undefined) return { script, css };
  const require = createRequire(import.meta.url);
  const main = require.resolve('uplot');
  const file = (name: string) => fs.readFileSync(main.replace(/uPlot\.cjs\.js$/, name), 'utf8');
  return { script: file('uPlot.iife.min.js'), css: file('uPlot.min.css') };
}

/** Text as HTML holds it: markup characters as entities, control characters as escapes. */
const html = (s: string): string => printable(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1d232a; }
h1 { font-size: 1.5em; } h1.ok { color: #1a7f37; } h1.fail { color: #cf222e; }
table { border-collapse: collapse; margin: .5em 0 1.5em; } td, th { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } tr.bad td { background: #fff1f0; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; } figure.chart { margin: 0; } figcaption { font-weight: 600; }
.error { color: #cf222e; font-weight: 600; }
`;

/** The page's own script: a chart per figure, from the data inlined beside it. */
const CHARTS = `
const data = JSON.parse(document.getElementById('tsnorm-data').textContent);
for (const figure of document.querySelectorAll('figure.chart')) {
  const h = data[figure.dataset.file][figure.dataset.channel];
  const x = h.edges.slice(0, -1);
  const series = [{ label: 'value' }];
  const values = [x];
  if (h.reference.length > 0) { series.push({ label: 'reference', stroke: '#0969da', fill: 'rgba(9,105,218,0.25)', paths: uPlot.paths.stepped({ align: 1 }) }); values.push(h.reference); }
  series.push({ label: 'incoming', stroke: '#cf222e', fill: 'rgba(207,34,46,0.25)', paths: uPlot.paths.stepped({ align: 1 }) });
  values.push(h.incoming);
  new uPlot({ width: 420, height: 220, series, scales: { x: { time: false } }, axes: [{}, { label: 'share of values' }] }, values, figure.querySelector('.plot'));
}
`;

export function htmlReport(r: CheckReport): string {
  const { script, css } = chartLibrary();
  const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
  const title = total === 0 ? `tsnorm check: ok, ${plural(r.instances, 'instance')}` : `tsnorm check: ${plural(total, 'problem')}`;
  const out: string[] = [];
  const data: Record<string, Record<string, unknown>> = {};
  out.push(
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing is fetched, from anywhere: the page holds all it shows.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${html(title)}</title>`,
    `<style>${css}${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1 class="${total === 0 ? 'ok' : 'fail'}">${html(title)}</h1>`,
  );
  const l = r.limits;
  out.push(
    `<p>${plural(r.instances, 'instance')} in ${plural(r.files.length, 'file')}. Limits: z ${l.maxZ}, std ratio ${l.maxStdRatio}, KS ${l.maxKs}, PSI ${l.maxPsi}, Wasserstein ${l.maxWasserstein} (judged from ${l.minValues} values).</p>`,
  );
  r.files.forEach((f, i) => {
    const key = String(i);
    data[key] = {};
    out.push(`<section class="file"><h2>${html(f.file)}</h2>`);
    if (f.error !== undefined) out.push(`<p class="error">Unreadable: ${html(f.error)}</p>`);
    const mine = r.problems.filter((p) => p.file === f.file && p.kind !== 'unreadable');
    if (mine.length > 0) {
      out.push('<table class="problems"><tr><th>problem</th><th>instance</th><th>channel</th><th>where</th><th>what</th></tr>');
      for (const p of mine)
        out.push(
          `<tr><td>${html(p.kind)}</td><td>${html(p.instanceText ?? '')}</td><td>${html(p.channel ?? '')}</td><td>${html(p.at ? locationText(p.at) : '')}</td><td>${html(p.message)}</td></tr>`,
        );
      out.push('</table>');
    }
    if (f.channels.length > 0) {
      out.push(
        '<table class="scores"><tr><th>channel</th><th>values</th><th>missing</th><th>flat</th><th>largest z</th><th>std ratio</th><th>KS</th><th>PSI</th><th>Wasserstein</th></tr>',
      );
      for (const c of f.channels) {
        const bad = mine.some((p) => p.channel === c.name);
        out.push(
          `<tr${bad ? ' class="bad"' : ''}><td>${html(c.name)}</td><td class="n">${c.values}</td><td class="n">${c.missing}</td><td class="n">${c.flat}</td><td class="n">${scoreText(c.maxZ)}</td>` +
            `<td class="n">${c.minStdRatio === null ? '' : `${scoreText(c.minStdRatio)} to ${scoreText(c.maxStdRatio)}`}</td><td class="n">${scoreText(c.ks)}</td><td class="n">${scoreText(c.psi)}</td><td class="n">${scoreText(c.wasserstein)}</td></tr>`,
        );
      }
      out.push('</table>');
      out.push('<div class="charts">');
      f.channels.forEach((c, k) => {
        const h = f.histograms?.[k];
        if (!h) return;
        data[key]![String(k)] = h;
        out.push(`<figure class="chart" data-file="${key}" data-channel="${k}"><figcaption>${html(c.name)}</figcaption><div class="plot"></div></figure>`);
      });
      out.push('</div>');
    }
    out.push('</section>');
  });
  // JSON in a script element: "<" escaped, so that no text in it can close the element.
  out.push(`<script type="application/json" id="tsnorm-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>`);
  out.push(`<script>${script}</script>`, `<script>${CHARTS}</script>`, '</body>', '</html>');
  return out.join('\n') + '\n';
}
