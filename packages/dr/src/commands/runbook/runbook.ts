// fsdr runbook: the restore runbook for this deployment, from the live config and, unless told
// not to, the repositories' state, as Markdown or a self-contained HTML page.
import type { Config } from '../../config/load.js';
import type { Fill } from '../../runbook/procedures.js';
import { buildRunbook, renderHtml, renderMarkdown } from '../../runbook/runbook.js';
import { readState } from './state.js';

export interface RunbookOptions extends Fill {
  format?: 'md' | 'html';
  /** read the repositories for the "at risk now" lines (default true) */
  state?: boolean;
}

export async function generateRunbook(cfg: Config, opts: RunbookOptions = {}): Promise<string> {
  const state = opts.state === false ? undefined : await readState(cfg);
  const rb = buildRunbook(cfg, state, { targetTime: opts.targetTime, pgdata: opts.pgdata, port: opts.port, serverUrl: opts.serverUrl });
  return opts.format === 'html' ? renderHtml(rb) : renderMarkdown(rb);
}
