// Progress for long work: a cli-progress bar on a terminal (a well-kept library; a hand-made bar would
// get terminal widths, redraws and ETA smoothing wrong), plain periodic lines otherwise (CI logs, pipes):
// the first update at once (so a long job shows its ETA from the start), then every 10% or every 10 s,
// whichever comes first, and the last.
import cliProgress from "cli-progress";

export interface ProgressReporter {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Show only the percentage, not done/total (for totals in internal units). */
  percentOnly?: boolean;
  /** Plain lines: longest silence between two lines, in ms (default 10,000). */
  everyMs?: number;
  /** Where plain lines go (default stderr). */
  write?: (line: string) => void;
  /** Force plain lines even on a terminal (tests). */
  plain?: boolean;
  /** Work already done before this process (a resumed run): the ETA counts only the rate seen here. */
  from?: number;
}

export function progress(label: string, total: number, fieldsFormat = "", o: ProgressOptions = {}): ProgressReporter {
  if (process.stderr.isTTY && !o.plain) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] ${o.percentOnly ? "" : "{value}/{total} "}{percentage}% | ETA {eta_formatted}${fieldsFormat ? ` | ${fieldsFormat}` : ""}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, o.from ?? 0);
    return { update: (d, f) => bar.update(d, f), stop: () => bar.stop() };
  }
  const write = o.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const everyMs = o.everyMs ?? 10_000;
  let lastPct = -Infinity;
  let lastAt = -Infinity;
  let lastDone = -1;
  const from = o.from ?? 0;
  const t0 = performance.now();
  return {
    update(done, fields) {
      if (done <= from || done === lastDone) return;
      const now = performance.now();
      const pct = Math.floor((100 * done) / total);
      if (pct >= lastPct + 10 || now - lastAt >= everyMs || done >= total) {
        lastPct = pct;
        lastAt = now;
        lastDone = done;
        const el = (now - t0) / 1000;
        const eta = (el * (total - done)) / (done - from);
        const extra = fields ? " " + Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(" ") : "";
        write(`${label} ${o.percentOnly ? "" : `${done}/${total} `}(${pct}%) ${el.toFixed(1)} s, ETA ${eta.toFixed(0)} s${extra}`);
      }
    },
    stop() {},
  };
}
