/**
 * A report as a list of blocks, rendered twice: Markdown (report.md, figures referenced
 * by caption) and one self-contained HTML file (report.html, SVG figures inline).
 * Inline markup understood in text: **bold** and `code`.
 */
import type { Figure } from './plots.js';

export type Block =
  | { kind: 'h1' | 'h2' | 'h3'; text: string }
  | { kind: 'p'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; head: string[]; rows: string[][]; align?: ('l' | 'r')[] }
  | { kind: 'figure'; id: string };

export function toMarkdown(blocks: Block[], figures: Figure[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'h1':
        out.push(`# ${b.text}`);
        break;
      case 'h2':
        out.push(`## ${b.text}`);
        break;
      case 'h3':
        out.push(`### ${b.text}`);
        break;
      case 'p':
        out.push(b.text);
        break;
      case 'list':
        out.push(b.items.map((i) => `- ${i}`).join('\n'));
        break;
      case 'table': {
        const esc = (s: string) => s.replace(/\|/g, '\\|');
        const align = b.head.map((_, i) => ((b.align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : ':---'));
        out.push([`| ${b.head.map(esc).join(' | ')} |`, `| ${align.join(' | ')} |`, ...b.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n'));
        break;
      }
      case 'figure': {
        const f = figures.find((x) => x.id === b.id);
        if (f) out.push(`*Figure (${f.id}; drawn in report.html): ${f.caption}*`);
        break;
      }
    }
  }
  return out.join('\n\n') + '\n';
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function inline(s: string): string {
  return escapeHtml(s)
    .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
    .replace(/`([^`]+)`/g, '<code>$1</code>');
}

const CSS = `
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.5}
h1{font-size:1.6em;border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:1.8em;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:.3em .6em}th{background:#f5f5f5}
td.r{text-align:right;font-variant-numeric:tabular-nums}figure{margin:1.5em 0}figcaption{font-size:.9em;color:#555}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}svg{max-width:100%;height:auto}`;

export function toHtml(title: string, blocks: Block[], figures: Figure[]): string {
  const body: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'h1':
      case 'h2':
      case 'h3':
        body.push(`<${b.kind}>${inline(b.text)}</${b.kind}>`);
        break;
      case 'p':
        body.push(`<p>${inline(b.text)}</p>`);
        break;
      case 'list':
        body.push(`<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`);
        break;
      case 'table': {
        const cls = (i: number) => ((b.align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? ' class="r"' : '');
        body.push(
          `<table><thead><tr>${b.head.map((h) => `<th>${inline(h)}</th>`).join('')}</tr></thead><tbody>` +
            b.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${inline(c)}</td>`).join('')}</tr>`).join('') +
            '</tbody></table>',
        );
        break;
      }
      case 'figure': {
        const f = figures.find((x) => x.id === b.id);
        if (f) body.push(`<figure id="fig-${escapeHtml(f.id)}">${f.svg}<figcaption>${inline(f.caption)}</figcaption></figure>`);
        break;
      }
    }
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}
