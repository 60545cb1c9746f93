// Renders job summaries the way GitHub shows them (GFM, GitHub's Markdown
// CSS, <details>, GitHub's alerts, Mermaid drawn in the browser) to PNG in
// the light and the dark theme, and fails when
//   - a Mermaid block does not parse or draw,
//   - the browser reports an error,
//   - a string the manifest asks for is not visible in the first screen,
//   - the open part of a summary (all but its collapsed sections at the
//     end) is taller than the first screen: what does not explain the
//     first finding must be collapsed.
//
// usage: node render.mjs --manifest FILE --out DIR [--copy DIR] SUMMARY.md...
//
// The manifest names, for every summary, the strings that must be visible
// in the top FIRST_SCREEN px: a line without indent names a summary (as
// given on the command line), the indented lines under it are its strings,
// verbatim; blank lines and lines starting with # are skipped. A summary
// without strings, or strings for a summary not given, is an error, so a
// new summary cannot skip the check.
//
// Packages come from RENDER_NODE_MODULES (a node_modules directory kept
// outside the repository) or else from node_modules beside this script;
// the browser from CHROMIUM, or else /usr/bin/chromium.

import { createRequire } from 'node:module';
import { mkdir, readFile, copyFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

// The width GitHub gives a job summary's Markdown in a 1280 px wide window,
// beside the run's sidebar, and the height of the first screen.
const SUMMARY_WIDTH = 912;
const FIRST_SCREEN = 900;

// GitHub's themes: the page behind the summary and Mermaid's theme.
const THEMES = [
  { name: 'light', css: 'github-markdown-light.css', background: '#ffffff', mermaid: 'default' },
  { name: 'dark', css: 'github-markdown-dark.css', background: '#0d1117', mermaid: 'dark' },
];

// The charts mark a span with nothing to draw by a bar of negative height,
// which the browser leaves out with this complaint (internal/report/chart.go,
// noBar): it is by design, not an error.
const NO_BAR = /^Error: <rect> attribute height: A negative value is not valid\./;

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = process.env.RENDER_NODE_MODULES || path.join(here, 'node_modules');
const require = createRequire(path.join(path.dirname(nodeModules), 'resolve.js'));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);

function parseManifest(text) {
  const wants = new Map();
  let current = null;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    if (!/^\s/.test(line)) {
      current = line.trim();
      if (wants.has(current)) throw new Error(`manifest line ${i + 1}: ${JSON.stringify(current)} is named twice`);
      wants.set(current, []);
      return;
    }
    if (current === null) throw new Error(`manifest line ${i + 1}: ${JSON.stringify(line.trim())} comes before any summary is named`);
    wants.get(current).push(line.trim());
  });
  return wants;
}

async function main() {
  const { values, positionals: files } = parseArgs({
    allowPositionals: true,
    options: { manifest: { type: 'string' }, out: { type: 'string' }, copy: { type: 'string' } },
  });
  if (!values.manifest || !values.out || files.length === 0) {
    throw new Error('usage: node render.mjs --manifest FILE --out DIR [--copy DIR] SUMMARY.md...');
  }
  const wants = parseManifest(await readFile(values.manifest, 'utf8'));
  const problems = [];
  for (const f of files) {
    if (!(wants.get(f)?.length > 0)) problems.push(`${f}: the manifest ${values.manifest} names no first-screen strings for it`);
  }
  for (const f of wants.keys()) {
    if (!files.includes(f)) problems.push(`${values.manifest} names ${f}, which was not given to render`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));

  const { marked } = await load('marked');
  const markedAlert = (await load('marked-alert')).default;
  marked.use({ gfm: true }, markedAlert());
  const mermaidScript = require.resolve('mermaid/dist/mermaid.min.js');
  const cssDir = path.dirname(require.resolve('github-markdown-css/github-markdown.css'));
  const playwright = await load('playwright-core');
  const { chromium } = playwright.chromium ? playwright : playwright.default;

  await mkdir(values.out, { recursive: true });
  if (values.copy) await mkdir(values.copy, { recursive: true });

  let failed = 0;
  // A new empty profile, and no background traffic: the machine's network
  // is closed, and Chromium's own connections only slow it down.
  const profile = mkdtempSync(path.join(tmpdir(), 'render-profile-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: SUMMARY_WIDTH, height: FIRST_SCREEN },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    // One page per theme, with Mermaid loaded once: each summary replaces
    // the page's content.
    for (const theme of THEMES) {
      const page = await browser.newPage();
      let errors = [];
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !NO_BAR.test(m.text())) errors.push(`console error: ${m.text()}`);
      });
      await page.setContent(`<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0;background:${theme.background}"><article class="markdown-body" style="box-sizing:border-box;width:100%;padding:16px 24px;background:${theme.background}"></article></body></html>`);
      await page.addStyleTag({ path: path.join(cssDir, theme.css) });
      await page.addScriptTag({ path: mermaidScript });
      for (const file of files) {
        const label = `${file} (${theme.name})`;
        errors = [];
        const html = marked.parse(await readFile(file, 'utf8'));
        await page.evaluate((h) => { document.querySelector('article').innerHTML = h; window.scrollTo(0, 0); }, html);
        errors.push(...await page.evaluate(drawMermaid, theme.mermaid));
        const missing = await page.evaluate(firstScreenMisses, { wants: wants.get(file), height: FIRST_SCREEN });
        for (const m of missing) errors.push(`not visible in the top ${FIRST_SCREEN} px: ${JSON.stringify(m)}`);
        const open = await page.evaluate(openPartBottom);
        const openNote = open > 0 ? ` (open part ${open} px)` : '';
        if (open > FIRST_SCREEN) {
          errors.push(`the open part is ${open} px tall, more than the first ${FIRST_SCREEN} px: collapse what does not explain the first finding`);
        }
        const base = path.basename(file).replace(/\.golden\.md$|\.md$/, '');
        const png = path.join(values.out, `${base}-${theme.name}.png`);
        await page.screenshot({ path: png, fullPage: true });
        if (values.copy) await copyFile(png, path.join(values.copy, path.basename(png)));
        if (errors.length > 0) {
          failed++;
          problems.push(...errors.map((e) => `${label}: ${e}`));
          console.log(`FAIL ${label} -> ${png}${openNote}`);
        } else {
          console.log(`ok   ${label} -> ${png}${openNote}`);
        }
      }
      await page.close();
    }
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
  console.log(`render: ${files.length * THEMES.length - failed} passed, ${failed} failed`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

// drawMermaid runs in the page: it draws every ```mermaid block as GitHub
// does, in place of the code block, and returns the errors.
async function drawMermaid(theme) {
  const errors = [];
  /* global mermaid */
  mermaid.initialize({ startOnLoad: false, theme, securityLevel: 'strict' });
  const blocks = [...document.querySelectorAll('pre > code.language-mermaid')];
  for (const [i, code] of blocks.entries()) {
    const text = code.textContent;
    const where = `mermaid block ${i + 1} ("${text.split('\n').find((l) => l.trim().startsWith('title'))?.trim() ?? text.split('\n')[0]}")`;
    try {
      await mermaid.parse(text);
      const { svg } = await mermaid.render(`mermaid-${(window.renderCount = (window.renderCount ?? 0) + 1)}`, text);
      if (/aria-roledescription="error"/.test(svg)) throw new Error('drew an error diagram');
      const figure = document.createElement('div');
      figure.className = 'mermaid-figure';
      figure.style.cssText = 'text-align:center;margin-bottom:16px';
      figure.innerHTML = svg;
      code.parentElement.replaceWith(figure);
    } catch (e) {
      errors.push(`${where}: ${String(e?.message ?? e).split('\n').slice(0, 6).join(' | ')}`);
    }
  }
  return errors;
}

// openPartBottom runs in the page: it returns the bottom, in px from the
// top, of the last part of a summary that is not a collapsed section; 0
// for what is not a summary (no verdict heading). Collapsed sections
// before it count, as their titles take room.
function openPartBottom() {
  const article = document.querySelector('article');
  if (!article.querySelector(':scope > h2')) return 0;
  let bottom = 0;
  for (const el of article.children) {
    if (el.tagName === 'DETAILS' && !el.open) continue;
    bottom = Math.max(bottom, Math.ceil(el.getBoundingClientRect().bottom));
  }
  return bottom;
}

// firstScreenMisses runs in the page: it returns the wanted strings that
// are not drawn, whole, within the top height px. Text is matched across
// elements (bold inside a sentence) with runs of white space as one space.
function firstScreenMisses({ wants, height }) {
  const chars = []; // one per character of text: [node, offset]
  let text = '';
  const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.parentElement.closest('style, script') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let k = 0; k < node.data.length; k++) {
      let c = node.data[k];
      if (/\s/.test(c)) {
        if (text.endsWith(' ')) continue;
        c = ' ';
      }
      text += c;
      chars.push([node, k]);
    }
  }
  const visible = (start, end) => {
    const range = document.createRange();
    range.setStart(chars[start][0], chars[start][1]);
    range.setEnd(chars[end - 1][0], chars[end - 1][1] + 1);
    // A closed <details> keeps its content laid out but skipped: only
    // checkVisibility tells.
    for (let k = start; k < end; k++) {
      if (!chars[k][0].parentElement.checkVisibility({ visibilityProperty: true, opacityProperty: true })) return false;
    }
    const rects = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
    return rects.length > 0 && rects.every((r) => r.bottom <= height);
  };
  return wants.filter((want) => {
    const needle = want.replace(/\s+/g, ' ');
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      if (visible(at, at + needle.length)) return false;
    }
    return true;
  });
}

main().catch((e) => {
  console.error(`render: ${e.message}`);
  process.exit(1);
});
